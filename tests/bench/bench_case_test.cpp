// Registry and the case-kind helpers of bench_case.hpp: selection by suite and filter, wildcard
// patterns, exact refusals, kind names.
#include "bench/bench_case.hpp"

#include <gtest/gtest.h>

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

TEST(Registry, AddErrorsNameTheCase) {
  Registry r = sample();
  BenchCase dup;
  dup.suite = "core";
  dup.name = "core/config-parse";
  BenchCase wrong;
  wrong.suite = "core";
  wrong.name = "corex/a";  // the suite must be followed by '/'
  const std::vector<std::pair<BenchCase, std::string>> table = {
      {dup, "bench case 'core/config-parse': registered twice"},
      {wrong, "bench case 'corex/a': name does not start with its suite (got core); expected 'core/...'"},
  };
  for (const auto& [c, message] : table) {
    try {
      r.add(c);
      ADD_FAILURE() << "accepted " << c.name;
    } catch (const ds::RuntimeError& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
  EXPECT_THROW(r.add_or_replace(wrong), ds::RuntimeError);  // a new name goes through add()
  EXPECT_EQ(r.cases().size(), 4u);
}

TEST(Registry, AddOrReplaceAppendsANewNameAndFindMissesUnknownOnes) {
  Registry r = sample();
  BenchCase fresh;
  fresh.suite = "train";
  fresh.name = "train/step";
  r.add_or_replace(fresh);
  EXPECT_EQ(r.cases().back().name, "train/step");
  EXPECT_EQ(r.suites(), (std::vector<std::string>{"core", "estimate", "kernels", "train"}));
  EXPECT_EQ(r.find("train/nope"), nullptr);
  EXPECT_EQ(r.find("core"), nullptr);  // whole names only
}

TEST(MatchesFilter, WildcardsBacktrackAndEmptyPatternsAreIgnored) {
  EXPECT_TRUE(matches_filter("core/abcbc", "*b*c"));
  EXPECT_TRUE(matches_filter("core/abcbc", "core/a*c"));
  EXPECT_FALSE(matches_filter("core/abcbc", "*bd"));
  EXPECT_TRUE(matches_filter("core/", "core/*"));
  EXPECT_TRUE(matches_filter("core/x", "**"));
  EXPECT_FALSE(matches_filter("core/x", "core/*y"));
  EXPECT_TRUE(matches_filter("core/x", ",,"));  // no pattern at all: everything
  EXPECT_TRUE(matches_filter("core/x", ",x,"));
  EXPECT_FALSE(matches_filter("core/x", "y,"));
}

TEST(Kind, NamesRoundTripAndDecideComparison) {
  for (Kind k : {Kind::kTime, Kind::kThroughput, Kind::kBytes, Kind::kAccuracy}) EXPECT_EQ(parse_kind(kind_name(k)), k);
  EXPECT_STREQ(kind_name(Kind::kTime), "time");
  EXPECT_STREQ(kind_name(Kind::kThroughput), "throughput");
  EXPECT_STREQ(kind_name(Kind::kBytes), "bytes");
  EXPECT_STREQ(kind_name(Kind::kAccuracy), "accuracy");
  EXPECT_TRUE(machine_bound(Kind::kTime));
  EXPECT_TRUE(machine_bound(Kind::kThroughput));
  EXPECT_FALSE(machine_bound(Kind::kBytes));
  EXPECT_FALSE(machine_bound(Kind::kAccuracy));
  BenchCase c;
  for (Kind k : {Kind::kTime, Kind::kBytes, Kind::kAccuracy}) {
    c.kind = k;
    EXPECT_FALSE(c.higher_is_better());
  }
  c.kind = Kind::kThroughput;
  EXPECT_TRUE(c.higher_is_better());
}

TEST(Kind, ParseRefusesAnythingElse) {
  for (const std::string name : {"latency", "Time", ""}) {
    try {
      parse_kind(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const ds::RuntimeError& e) {
      EXPECT_EQ(std::string(e.what()), "bench_results.kind: unknown case kind" +
                                           (name.empty() ? std::string() : " (got " + name + ")") +
                                           "; expected time, throughput, bytes or accuracy");
    }
  }
}

}  // namespace
