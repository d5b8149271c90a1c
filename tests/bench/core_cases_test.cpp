// The built-in cases every ds knows: suites, names and descriptions, and the shape of each
// (quick checks only: no case is sampled here).
#include "bench/core_cases.hpp"

#include <gtest/gtest.h>

#include "bench/bench_case.hpp"

namespace {

using namespace ds::bench;

TEST(Registry, BuiltInSuites) {
  Registry r;
  register_core_cases(r);
  register_engine_case_names(r);
  EXPECT_EQ(r.suites(), (std::vector<std::string>{"estimate", "core", "tune", "kernels", "train", "serve"}));
  for (const auto& c : r.cases()) {
    EXPECT_EQ(c.needs_engine, !c.prepare) << c.name;
    EXPECT_FALSE(c.description.empty()) << c.name;
    // Deterministic kinds take one sample; timing kinds are sampled repeatedly.
    EXPECT_EQ(c.max_samples == 1, !machine_bound(c.kind)) << c.name;
  }
}

std::vector<std::string> names(const Registry& r) {
  std::vector<std::string> out;
  for (const auto& c : r.cases()) out.push_back(c.name);
  return out;
}

TEST(CoreCases, TorchFreeCasesWithTheirKindsUnitsAndSampling) {
  Registry r;
  register_core_cases(r);
  struct Expected {
    const char* name;
    Kind kind;
    const char* unit;
    double tolerance;
    int max_samples;
  };
  const std::vector<Expected> table = {
      {"estimate/memory-table-llama-2-7b", Kind::kTime, "s", 0, 0},
      {"estimate/peak-bytes-llama-2-7b-zero3", Kind::kBytes, "bytes", 0, 1},
      {"estimate/error-vs-measured", Kind::kAccuracy, "rel error", 0.005, 1},
      {"core/config-parse-zero3", Kind::kTime, "s", 0, 0},
      {"core/tokenizer-encode-bpe", Kind::kThroughput, "tokens/s", 0, 0},
      {"core/tokenizer-token-count", Kind::kAccuracy, "tokens", 0, 1},
      {"tune/plans-per-s-llama-2-7b", Kind::kThroughput, "plans/s", 0, 0},
  };
  ASSERT_EQ(r.cases().size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const BenchCase& c = r.cases()[i];
    SCOPED_TRACE(table[i].name);
    EXPECT_EQ(c.name, table[i].name);
    EXPECT_EQ(c.suite, c.name.substr(0, c.name.find('/')));
    EXPECT_EQ(c.kind, table[i].kind);
    EXPECT_EQ(c.unit, table[i].unit);
    EXPECT_EQ(c.tolerance, table[i].tolerance);
    EXPECT_EQ(c.max_samples, table[i].max_samples);
    EXPECT_FALSE(c.needs_engine);
    EXPECT_TRUE(c.prepare);
  }
}

TEST(CoreCases, EstimatorErrorSkipsWithoutStoredTrials) {
  Registry r;
  register_core_cases(r);
  const BenchCase* c = r.find("estimate/error-vs-measured");
  ASSERT_NE(c, nullptr);
  const std::vector<std::pair<std::string, std::string>> table = {
      {"", "no database"},
      {":memory:", "no stored trials with predicted and measured peak memory (run `ds train` first)"},
  };
  for (const auto& [db_path, reason] : table) {
    try {
      c->prepare(CaseContext{db_path});
      ADD_FAILURE() << "not skipped with db_path '" << db_path << "'";
    } catch (const CaseSkipped& e) {
      EXPECT_EQ(std::string(e.what()), reason);
    }
  }
}

TEST(EngineCaseNames, ListedWithoutPrepareForDsEngine) {
  Registry r;
  register_engine_case_names(r);
  EXPECT_EQ(names(r), (std::vector<std::string>{
                          "kernels/adam-cpu-16m", "kernels/gemm-fp32-512", "kernels/attention-fp32",
                          "kernels/layer-norm-fp32", "train/step-small-llama", "train/peak-bytes-small-llama",
                          "train/zero1-2ranks-step", "train/zero2-2ranks-step", "train/zero3-2ranks-step",
                          "train/zero2-offload-2ranks-step", "tune/regret-ds-tiny-grid",
                          "serve/greedy-tokens-small-llama", "serve/decode-small-llama",
                          "serve/decode-small-llama-1stream", "serve/decode-small-llama-16streams",
                          "serve/ttft-small-llama", "serve/itl-p50-small-llama", "serve/itl-p99-small-llama"}));
  for (const auto& c : r.cases()) {
    EXPECT_TRUE(c.needs_engine) << c.name;
    EXPECT_FALSE(c.prepare) << c.name;
  }
  // The ZeRO stage is spelled into each of the three step cases' descriptions.
  for (const char* stage : {"1", "2", "3"}) {
    const BenchCase* c = r.find(std::string("train/zero") + stage + "-2ranks-step");
    ASSERT_NE(c, nullptr);
    EXPECT_NE(c->description.find(std::string("ZeRO-") + stage + ", Gloo"), std::string::npos) << c->description;
  }
  EXPECT_EQ(r.find("tune/regret-ds-tiny-grid")->tolerance, 0.1);
  EXPECT_EQ(r.find("tune/regret-ds-tiny-grid")->max_samples, 1);
  EXPECT_EQ(r.find("serve/decode-small-llama")->unit, "tokens/s");
}

}  // namespace
