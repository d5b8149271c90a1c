#include "bench/bench_case.hpp"

#include <gtest/gtest.h>

#include "bench/core_cases.hpp"
#include "common/error.hpp"

namespace {

using namespace ds::bench;

Registry sample() {
  Registry r;
  for (const char* name : {"core/config-parse", "core/tokenizer-encode", "estimate/table", "kernels/gemm"}) {
    BenchCase c;
    c.name = name;
    c.suite = std::string(name).substr(0, std::string(name).find('/'));
    r.add(c);
  }
  return r;
}

std::vector<std::string> names(const std::vector<const BenchCase*>& cases) {
  std::vector<std::string> out;
  for (const auto* c : cases) out.push_back(c->name);
  return out;
}

TEST(Registry, SelectsBySuiteAndFilter) {
  const Registry r = sample();
  EXPECT_EQ(r.suites(), (std::vector<std::string>{"core", "estimate", "kernels"}));
  EXPECT_EQ(names(r.select({}, "")).size(), 4u);
  EXPECT_EQ(names(r.select({"core"}, "")), (std::vector<std::string>{"core/config-parse", "core/tokenizer-encode"}));
  EXPECT_EQ(names(r.select({}, "token")), (std::vector<std::string>{"core/tokenizer-encode"}));
  EXPECT_EQ(names(r.select({}, "*/gemm,estimate/*")), (std::vector<std::string>{"estimate/table", "kernels/gemm"}));
  EXPECT_EQ(names(r.select({"core", "kernels"}, "c*e")), (std::vector<std::string>{"core/config-parse", "core/tokenizer-encode"}));
}

TEST(Registry, FilterPatterns) {
  EXPECT_TRUE(matches_filter("core/a", ""));
  EXPECT_TRUE(matches_filter("core/abc", "b"));
  EXPECT_FALSE(matches_filter("core/abc", "core/a"  "x"));
  EXPECT_TRUE(matches_filter("core/abc", "*c"));
  EXPECT_FALSE(matches_filter("core/abc", "*b"));
  EXPECT_TRUE(matches_filter("core/abc", "x,*abc"));
}

TEST(Registry, UnknownSuiteAndEmptySelectionAreUsageErrors) {
  const Registry r = sample();
  try {
    r.select({"kernel"}, "");
    FAIL();
  } catch (const ds::UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "ds bench: unknown suite 'kernel'; expected core, estimate, kernels; hint: see `ds bench list`; did you "
              "mean 'kernels'?");
  }
  try {
    r.select({"core"}, "gemm");
    FAIL();
  } catch (const ds::UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--filter: no case matches (got gemm); expected a pattern matching a name in `ds bench list`; hint: a "
              "pattern without '*' matches anywhere in 'suite/case'; '*' matches any text");
  }
}

TEST(Registry, RefusesDuplicatesAndNamesOutsideTheirSuite) {
  Registry r = sample();
  BenchCase dup;
  dup.suite = "core";
  dup.name = "core/config-parse";
  EXPECT_THROW(r.add(dup), ds::RuntimeError);
  BenchCase wrong;
  wrong.suite = "core";
  wrong.name = "train/x";
  EXPECT_THROW(r.add(wrong), ds::RuntimeError);
  dup.description = "replaced";
  r.add_or_replace(dup);
  EXPECT_EQ(r.find("core/config-parse")->description, "replaced");
}

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

}  // namespace
