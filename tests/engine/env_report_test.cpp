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

// /proc/self/maps of a LibTorch process on Debian 12 with OpenBLAS selected (abridged).
constexpr const char* kOpenBlasMaps =
    "55d0c0000000-55d0c0001000 r--p 00000000 fe:00 1 /usr/bin/ds\n"
    "55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0 [heap]\n"
    "7f0000000000-7f0000100000 r--p 00000000 fe:00 2 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0\n"
    "7f0000100000-7f0000200000 r-xp 00100000 fe:00 2 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0\n"
    "7f0001000000-7f0001001000 r--p 00000000 fe:00 3 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\n"
    "7f0002000000-7f0002001000 r--p 00000000 fe:00 4 "
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so\n"
    "7f0003000000-7f0003001000 r--p 00000000 fe:00 5 /usr/lib/x86_64-linux-gnu/liburing.so.2.3\n"
    "7f0004000000-7f0004001000 rw-s 00000000 00:01 6 /dev/shm/x (deleted)\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";

// The same process after `update-alternatives` chose Debian's reference BLAS.
constexpr const char* kReferenceMaps =
    "7f0000000000-7f0000100000 r--p 00000000 fe:00 2 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0\n"
    "7f0001000000-7f0001001000 r--p 00000000 fe:00 3 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0\n"
    "7f0001100000-7f0001101000 r--p 00000000 fe:00 7 /usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3.11.0\n";

TEST(EnvParse, MappedFilesAreDistinctPathsInOrder) {
  EXPECT_EQ(mapped_files(kOpenBlasMaps),
            (std::vector<std::string>{"/usr/bin/ds", "/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0",
                                      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
                                      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so",
                                      "/usr/lib/x86_64-linux-gnu/liburing.so.2.3", "/dev/shm/x"}));
  EXPECT_TRUE(mapped_files("").empty());
}

TEST(EnvParse, ClassifiesBlasLibrariesByPath) {
  const std::vector<std::pair<std::string, BlasKind>> cases = {
      {"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", BlasKind::kReference},
      {"/usr/lib64/libblas.so.3", BlasKind::kReference},
      {"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", BlasKind::kOpenBlas},
      {"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", BlasKind::kOpenBlas},
      {"/usr/lib/x86_64-linux-gnu/libopenblas.so.0", BlasKind::kOpenBlas},
      {"/opt/intel/oneapi/mkl/lib/libmkl_rt.so.2", BlasKind::kMkl},
      {"/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3", BlasKind::kBlis},
      {"/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3", BlasKind::kAtlas},
      {"/usr/lib64/libflexiblas.so.3", BlasKind::kFlexiBlas},
      {"/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3", BlasKind::kNone},
      {"/usr/lib/x86_64-linux-gnu/libpublish.so", BlasKind::kNone},
      {"/usr/lib/x86_64-linux-gnu/libtorch_cpu.so", BlasKind::kNone},
  };
  for (const auto& [path, kind] : cases) EXPECT_EQ(classify_blas_library(path), kind) << path;
}

TEST(EnvParse, DetectsTheBlasInUse) {
  const auto openblas = detect_blas(mapped_files(kOpenBlasMaps), "");
  EXPECT_EQ(openblas.kind, BlasKind::kOpenBlas);
  EXPECT_EQ(openblas.library, "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3");
  const auto reference = detect_blas(mapped_files(kReferenceMaps), "");
  EXPECT_EQ(reference.kind, BlasKind::kReference);
  EXPECT_EQ(reference.library, "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0");
  // Both mapped: the library the linker bound sgemm_ to decides.
  auto both = mapped_files(kReferenceMaps);
  both.push_back("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so");
  EXPECT_EQ(detect_blas(both, "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0").kind, BlasKind::kReference);
  EXPECT_EQ(detect_blas(both, "").kind, BlasKind::kOpenBlas);
  // sgemm_ inside LibTorch itself (a statically linked BLAS): named, kind unknown.
  const auto inside = detect_blas({"/usr/bin/ds"}, "/opt/libtorch/lib/libtorch_cpu.so");
  EXPECT_EQ(inside.kind, BlasKind::kNone);
  EXPECT_EQ(inside.library, "/opt/libtorch/lib/libtorch_cpu.so");
  EXPECT_EQ(detect_blas({}, "").library, "");
  EXPECT_STREQ(to_string(BlasKind::kReference), "reference BLAS (netlib)");
}

TEST(EnvParse, LibraryVersionsComeFromFileNames) {
  const auto mapped = mapped_files(kOpenBlasMaps);
  EXPECT_EQ(library_file_version(mapped, "liburing.so"), "2.3");
  EXPECT_EQ(library_file_version(mapped, "libtorch_cpu.so"), "1.13.0");
  EXPECT_EQ(library_file_version(mapped, "libsqlite3.so"), "");
}

TEST(EnvParse, CpuinfoAndMeminfo) {
  // Two sockets, two cores each, two hyper-threads per core: 8 logical, 4 physical.
  std::string cpuinfo;
  for (int cpu = 0; cpu < 8; ++cpu) {
    cpuinfo += "processor\t: " + std::to_string(cpu) + "\nmodel name\t: Intel(R) Xeon(R) Gold 6130\n" +
               "physical id\t: " + std::to_string(cpu / 4) + "\ncore id\t\t: " + std::to_string(cpu % 4 / 2) +
               "\n\n";
  }
  EXPECT_EQ(cpu_model_name(cpuinfo), "Intel(R) Xeon(R) Gold 6130");
  EXPECT_EQ(physical_core_count(cpuinfo), 4);
  EXPECT_EQ(physical_core_count("processor : 0\nmodel name : x\n"), 0);
  EXPECT_EQ(cpu_model_name("processor : 0\n"), "");
  const char* meminfo = "MemTotal:       24683620 kB\nMemFree:         1000 kB\nMemAvailable:   24112332 kB\n";
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "MemTotal"), 24683620.0 * 1024);
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "MemAvailable"), 24112332.0 * 1024);
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "SwapTotal"), -1);
}

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
