// End to end through the built `ds`: the smoke that CI runs (suites end to end, an injected
// slow-down caught, two runs of the same build not flagged), exit codes, files for CI.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/run_ds.hpp"

namespace {

namespace fs = std::filesystem;
using ds::test::DsRun;

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("ds-bench-cli-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  DsRun ds(const std::string& args) const {
    return ds::test::run_ds("--db '" + (dir_ / "ds.db").string() + "' " + args);
  }
  std::string read(const fs::path& p) const {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

// Short runs: a few tenths of a second per case.
constexpr const char* kQuick = " --max-time 0.3 --min-samples 8 --warmup 1";

TEST_F(BenchCli, ListShowsEverySuite) {
  DsRun r = ds("bench list");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s : {"estimate/", "core/", "tune/", "kernels/", "train/", "serve/"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
  r = ds("--json bench list core --filter count");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["cases"].size(), 1u);
  EXPECT_EQ(j["cases"][0]["name"], "core/tokenizer-token-count");
  EXPECT_EQ(j["cases"][0]["kind"], "accuracy");
}

TEST_F(BenchCli, SmokeBaselineSameBuildUnchangedInjectedSlowdownRegresses) {
  // tune/regret-* trains 8 plans (about 20 s a run): the smoke keeps to the quick cases.
  const std::string quick_cases = " --filter 'estimate/*,core/*,tune/plans-*'";
  DsRun r = ds(std::string("bench run estimate core tune --save-baseline main") + quick_cases + kQuick);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("core/tokenizer-token-count"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("saved as baseline 'main'"), std::string::npos) << r.out;
  // The same build again: nothing regresses. ctest runs other suites beside this one on a
  // shared machine, so time samples of two runs can differ several-fold; the smoke checks the
  // verdict logic end to end with a 3x minimum effect and a 20x injected slow-down, while
  // tests/bench/compare_test.cpp checks the 5% default on controlled samples.
  r = ds(std::string("--json bench compare --baseline main estimate core tune --min-effect 2") + quick_cases + kQuick);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["regressed"].get<bool>());
  EXPECT_EQ(j["cases"].size(), 6u);  // estimate/error-vs-measured is skipped without trials
  for (const auto& c : j["cases"]) EXPECT_NE(c["verdict"], "no baseline") << c.dump();
  // A synthetic slow-down: the time and throughput cases regress, the exact ones do not; exit 3.
  const auto junit = dir_ / "bench.xml";
  const auto md = dir_ / "bench.md";
  r = ds(std::string("bench compare --baseline main core --min-effect 2 --inject-slowdown 20 --junit '") +
         junit.string() + "' --markdown '" + md.string() + "'" + kQuick);
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("2 regressed, 0 improved, 1 unchanged"), std::string::npos) << r.out;
  const auto error = r.err.find("ds: error:");
  ASSERT_NE(error, std::string::npos) << r.err;
  EXPECT_EQ(r.err.substr(error),
            "ds: error: ds bench compare: 2 case(s) regressed against baseline 'main': core/config-parse-zero3, "
            "core/tokenizer-encode-bpe\n");
  EXPECT_NE(read(junit).find("<failure message=\"baseline"), std::string::npos);
  EXPECT_NE(read(md).find("**regression**"), std::string::npos);
  // The stored run can be compared again without running; the injected run never becomes "latest".
  r = ds("bench compare --baseline main --run latest --min-effect 2");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(BenchCli, BadUsageExitsTwo) {
  DsRun r = ds("bench run kernal");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown suite 'kernal'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'kernels'?"), std::string::npos) << r.err;
  r = ds("bench compare core");
  EXPECT_EQ(r.code, 2) << r.err;  // --baseline is required
  r = ds("bench compare --baseline nope core");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--baseline: no stored baseline named 'nope'"), std::string::npos) << r.err;
  r = ds("bench run core --filter nothing-matches");
  EXPECT_EQ(r.code, 2);
  r = ds("bench run core --save-baseline x --inject-slowdown 2");
  EXPECT_EQ(r.code, 2);
  r = ds("bench compare --baseline main --alpha 2");
  EXPECT_EQ(r.code, 2);
  r = ds("bench history core/nope");
  EXPECT_EQ(r.code, 2);
}

TEST_F(BenchCli, HistorySvgAndReport) {
  for (int i = 0; i < 2; ++i) {
    DsRun r = ds(std::string("bench run core --filter count") + kQuick);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  const auto svg = dir_ / "history.svg";
  DsRun r = ds("bench history core/tokenizer-token-count --svg '" + svg.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("10955 tokens"), std::string::npos) << r.out;
  EXPECT_NE(read(svg).find("<svg xmlns"), std::string::npos);
  const auto doc = dir_ / "performance.md";
  std::ofstream(doc) << "# Performance\n\nhand-written text\n";
  r = ds("bench report --output '" + doc.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = read(doc);
  EXPECT_EQ(text.rfind("# Performance\n\nhand-written text\n", 0), 0u) << text;
  EXPECT_NE(text.find("| `core/tokenizer-token-count` | 10955 tokens |"), std::string::npos) << text;
}

// kernels, train and serve need LibTorch: the light ds hands such a run to ds-engine, which has
// the real cases (cli/bench_engine_cases.cpp) for every name `ds bench list` shows.
TEST_F(BenchCli, EngineCasesRunInDsEngine) {
  if (!fs::exists(DS_ENGINE_BINARY)) {
    DsRun r = ds("bench run kernels");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("cannot start the engine that `ds bench` runs in"), std::string::npos) << r.err;
    GTEST_SKIP() << "no ds-engine in this build";
  }
  DsRun r = ds::test::run_program(DS_ENGINE_BINARY, "--json bench list");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& c : nlohmann::json::parse(r.out)["cases"]) EXPECT_TRUE(c["available"].get<bool>()) << c.dump();
  // Every engine case but one of the 2-rank ZeRO ones (each starts `ds train` twice; ZeRO-2 with
  // offload stands for them: the same class with one config key more).
  r = ds("--json bench run kernels train serve --max-time 0.5 --min-samples 3 --warmup 1 "
         "--filter 'kernels/*,train/step*,train/peak*,train/zero2-offload*,serve/*'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto run = nlohmann::json::parse(r.out);
  EXPECT_EQ(run["results"].size(), 14u) << r.out;
  for (const auto& c : run["results"]) EXPECT_GT(c["median"].get<double>(), 0) << c.dump();
}

}  // namespace
