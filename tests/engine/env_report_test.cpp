#include "engine/env_report.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/build_info.hpp"
#include "profiles/store.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::engine {
namespace {
namespace fs = std::filesystem;

TEST(EnvReport, WarningsNameSectionRowAndFix) {
  EnvReport report;
  report.sections.push_back({"blas", "BLAS", {{"in use", "reference BLAS (netlib)", EnvStatus::kWarn, "fix it"},
                                              {"library", "/x", EnvStatus::kOk, ""}}});
  EXPECT_EQ(report.warnings(), std::vector<std::string>{"BLAS: in use: fix it"});
  ASSERT_NE(report.find("blas", "library"), nullptr);
  EXPECT_EQ(report.find("blas", "library")->value, "/x");
  EXPECT_EQ(report.find("cpu", "library"), nullptr);
  const auto json = to_json(report);
  EXPECT_EQ(json["sections"]["blas"]["in_use"]["status"], "warn");
  EXPECT_EQ(json["warnings"][0], "BLAS: in use: fix it");
}

fs::path temp_dir(const std::string& tag) {
  auto dir = fs::temp_directory_path() / ("ds_env_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(EnvReport, HasEverySectionWithPlausibleValues) {
  const auto dir = temp_dir("sections");
  const auto db = dir / "env.db";
  const auto report = env_report({db.string()});
  std::vector<std::string> keys;
  for (const auto& s : report.sections) keys.push_back(s.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"ds", "libtorch", "cpu", "blas", "cuda", "communication", "io",
                                            "database"}));
  auto value = [&](const char* section, const char* row) {
    const auto* r = report.find(section, row);
    EXPECT_NE(r, nullptr) << section << "/" << row;
    return r ? r->value : "";
  };
  EXPECT_EQ(value("ds", "version"), build_info().version);
  EXPECT_EQ(value("libtorch", "version").rfind("1.13.", 0), 0u);
  EXPECT_EQ(value("cpu", "logical cores"), std::to_string(std::thread::hardware_concurrency()));
  EXPECT_NE(value("cpu", "memory").find("GiB"), std::string::npos);
  EXPECT_FALSE(value("cpu", "kernel isa").empty());
  EXPECT_FALSE(value("blas", "in use").empty());
  EXPECT_EQ(value("communication", "gloo"), "yes");
  EXPECT_EQ(value("database", "sqlite"), profiles::sqlite_version());
  EXPECT_EQ(value("database", "path"), db.string());
  EXPECT_EQ(report.find("database", "path")->note, "from --db");
  EXPECT_EQ(value("database", "exists"), "no");
  EXPECT_FALSE(fs::exists(db)) << "ds env must not create the database";
  EXPECT_FALSE(report.torch_build_config.empty());
  { profiles::Store store(db); }
  const auto after = env_report({db.string()});
  const auto latest = std::to_string(profiles::latest_version(profiles::schema_migrations()));
  EXPECT_EQ(after.find("database", "schema version")->value, latest + " of " + latest);
  fs::remove_all(dir);
}

// stdout of the built `ds`.
std::string ds_stdout(const std::string& args, const std::string& env = "") { return test::run_ds(args, env).out; }

TEST(EnvCli, JsonIsOneObjectWithEverySection) {
  const auto dir = temp_dir("json");
  const auto out = ds_stdout("--json env", "DS_HOME='" + dir.string() + "'");
  const auto json = nlohmann::json::parse(out);
  for (const char* key : {"ds", "libtorch", "cpu", "blas", "cuda", "communication", "io", "database"}) {
    EXPECT_TRUE(json["sections"].contains(key)) << key;
  }
  EXPECT_EQ(json["sections"]["ds"]["version"]["value"], build_info().version);
  EXPECT_EQ(json["sections"]["database"]["path"]["value"], (dir / "ds.db").string());
  EXPECT_EQ(json["sections"]["database"]["path"]["note"], "from DS_HOME");
  EXPECT_TRUE(json["warnings"].is_array());
  fs::remove_all(dir);
}

TEST(EnvCli, TheDbFlagIsShown) {
  const auto dir = temp_dir("flag");
  const auto db = (dir / "x.db").string();
  const auto text = ds_stdout("--db '" + db + "' env");
  EXPECT_NE(text.find("Database"), std::string::npos) << text;
  EXPECT_NE(text.find(db), std::string::npos) << text;
  EXPECT_NE(text.find("from --db"), std::string::npos) << text;
  const auto json = nlohmann::json::parse(ds_stdout("--db '" + db + "' --json env"));
  EXPECT_EQ(json["sections"]["database"]["path"]["value"], db);
  fs::remove_all(dir);
}

// Points libblas.so.3 at Debian's netlib build for one run of `ds env`: it must warn loudly.
TEST(EnvCli, ReferenceBlasIsAWarningWithTheFix) {
  const fs::path reference = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
  if (!fs::exists(reference)) GTEST_SKIP() << "Debian's reference BLAS (libblas3) is not installed";
  const auto dir = temp_dir("refblas");
  fs::create_symlink(reference, dir / "libblas.so.3");
  const auto out = ds_stdout("--json env", "LD_LIBRARY_PATH='" + dir.string() + "' DS_HOME='" + dir.string() + "'");
  const auto json = nlohmann::json::parse(out);
  const auto& in_use = json["sections"]["blas"]["in_use"];
  EXPECT_EQ(in_use["value"], "reference BLAS (netlib)");
  EXPECT_EQ(in_use["status"], "warn");
  EXPECT_NE(in_use["note"].get<std::string>().find("sudo apt-get install libopenblas0-pthread"), std::string::npos);
  bool listed = false;
  for (const auto& w : json["warnings"]) listed = listed || w.get<std::string>().rfind("BLAS: in use: ", 0) == 0;
  EXPECT_TRUE(listed) << json["warnings"].dump();
  const auto text = ds_stdout("env", "LD_LIBRARY_PATH='" + dir.string() + "' DS_HOME='" + dir.string() + "'");
  EXPECT_NE(text.find("WARNING(S):"), std::string::npos) << text;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ds::engine
