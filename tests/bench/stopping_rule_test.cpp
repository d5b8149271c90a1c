#include "bench/stopping_rule.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "bench/runner.hpp"
#include "common/error.hpp"

namespace {

using namespace ds::bench;

TEST(StoppingRule, StopsWhenTheConfidenceIntervalIsNarrow) {
  StopRule rule;
  rule.min_samples = 5;
  rule.target_rel_ci = 0.01;
  std::vector<double> tight = {1.000, 1.001, 0.999, 1.000};
  EXPECT_FALSE(should_stop(tight, 0.1, rule));  // below min_samples
  tight.push_back(1.0);
  EXPECT_EQ(should_stop(tight, 0.1, rule), StopReason::kConverged);
  const std::vector<double> wide = {1, 2, 1, 2, 1, 2};
  EXPECT_FALSE(should_stop(wide, 0.1, rule));
}

TEST(StoppingRule, TimeCapAndMaxSamplesWin) {
  StopRule rule;
  rule.max_time_s = 1;
  rule.max_samples = 4;
  EXPECT_EQ(should_stop({1, 2}, 1.5, rule), StopReason::kTimeCap);  // even below min_samples
  EXPECT_EQ(should_stop({1, 2, 1, 2}, 0.1, rule), StopReason::kMaxSamples);
  EXPECT_EQ(should_stop({1}, 0.1, rule, 1), StopReason::kMaxSamples);  // a deterministic case
  EXPECT_FALSE(should_stop({}, 5, rule));  // at least one sample
}

BenchCase counting_case(int* prepared, int* sampled, double value, int max_samples = 0) {
  BenchCase c;
  c.suite = "t";
  c.name = "t/count";
  c.kind = Kind::kTime;
  c.unit = "s";
  c.max_samples = max_samples;
  c.prepare = [=](const CaseContext&) -> SampleFn {
    ++*prepared;
    return [=] {
      ++*sampled;
      return value;
    };
  };
  return c;
}

TEST(Runner, WarmsUpThenSamplesUntilTheRuleStops) {
  int prepared = 0, sampled = 0;
  StopRule rule;
  rule.warmup_runs = 3;
  rule.min_samples = 7;
  const auto r = run_case(counting_case(&prepared, &sampled, 0.5), {}, rule);
  EXPECT_EQ(prepared, 1);
  EXPECT_EQ(r.runs, 7);  // constant samples converge at min_samples
  EXPECT_EQ(sampled, 10);
  EXPECT_EQ(r.stop_reason, "converged");
  EXPECT_DOUBLE_EQ(r.median, 0.5);
  EXPECT_DOUBLE_EQ(r.spread, 0);
}

TEST(Runner, DeterministicCasesTakeOneSampleWithoutWarmUp) {
  int prepared = 0, sampled = 0;
  const auto r = run_case(counting_case(&prepared, &sampled, 42, 1), {}, StopRule{});
  EXPECT_EQ(sampled, 1);
  EXPECT_EQ(r.runs, 1);
  EXPECT_EQ(r.stop_reason, "max samples");
}

TEST(Runner, TheTimeCapEndsASlowCase) {
  BenchCase c;
  c.suite = "t";
  c.name = "t/slow";
  c.kind = Kind::kTime;
  c.unit = "s";
  c.prepare = [](const CaseContext&) -> SampleFn {
    return [] { return seconds_per_op(1, [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }); };
  };
  StopRule rule;
  rule.warmup_runs = 0;
  rule.max_time_s = 0.1;
  const auto r = run_case(c, {}, rule);
  EXPECT_EQ(r.stop_reason, "time cap");
  EXPECT_GE(r.runs, 3);
  EXPECT_LE(r.runs, 6);
  EXPECT_GE(r.median, 0.019);
}

TEST(Runner, InjectedSlowdownScalesTimeAndThroughputOnly) {
  int prepared = 0, sampled = 0;
  StopRule rule;
  rule.min_samples = 2;
  EXPECT_DOUBLE_EQ(run_case(counting_case(&prepared, &sampled, 2.0), {}, rule, 1.5).median, 3.0);
  auto tput = counting_case(&prepared, &sampled, 300.0);
  tput.kind = Kind::kThroughput;
  EXPECT_DOUBLE_EQ(run_case(tput, {}, rule, 1.5).median, 200.0);
  auto bytes = counting_case(&prepared, &sampled, 300.0, 1);
  bytes.kind = Kind::kBytes;
  EXPECT_DOUBLE_EQ(run_case(bytes, {}, rule, 1.5).median, 300.0);
}

TEST(Runner, SkippedCasesAreListedAndOthersStillRun) {
  int prepared = 0, sampled = 0;
  BenchCase skip;
  skip.suite = "t";
  skip.name = "t/skip";
  skip.prepare = [](const CaseContext&) -> SampleFn { throw CaseSkipped("nothing to measure here"); };
  const BenchCase ok = counting_case(&prepared, &sampled, 1.0, 1);
  RunOptions options;
  const auto run = run_cases({&skip, &ok}, options);
  ASSERT_EQ(run.skipped.size(), 1u);
  EXPECT_EQ(run.skipped[0].name, "t/skip");
  EXPECT_EQ(run.skipped[0].reason, "nothing to measure here");
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_FALSE(run.machine_fingerprint.empty());
  EXPECT_FALSE(run.git_commit.empty());
  options.inject_slowdown = 0;
  EXPECT_THROW(run_cases({&ok}, options), ds::UsageError);
}

}  // namespace
