// The runner: warm-up, sampling until the stopping rule says enough, the result's statistics,
// injected slowdowns, skipped cases and run metadata.
#include "bench/runner.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "common/error.hpp"

namespace {

using namespace ds::bench;

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

// Samples 1, 2, 3, ... in the order taken (warm-up included).
BenchCase sequence_case(int* taken) {
  BenchCase c;
  c.suite = "t";
  c.name = "t/sequence";
  c.kind = Kind::kThroughput;
  c.unit = "items/s";
  c.max_samples = 5;
  c.prepare = [=](const CaseContext&) -> SampleFn { return [=] { return static_cast<double>(++*taken); }; };
  return c;
}

TEST(Runner, ResultCarriesTheCaseAndTheStatisticsOfItsSamples) {
  int taken = 0;
  StopRule rule;
  rule.warmup_runs = 2;
  rule.max_time_s = 60;  // the case's max_samples ends it
  const auto r = run_case(sequence_case(&taken), {}, rule);
  EXPECT_EQ(r.name, "t/sequence");
  EXPECT_EQ(r.suite, "t");
  EXPECT_EQ(r.kind, Kind::kThroughput);
  EXPECT_EQ(r.unit, "items/s");
  EXPECT_TRUE(r.higher_is_better);
  EXPECT_EQ(r.samples, (std::vector<double>{3, 4, 5, 6, 7}));  // 1 and 2 were the warm-up
  EXPECT_EQ(r.runs, 5);
  EXPECT_EQ(r.stop_reason, "max samples");
  EXPECT_DOUBLE_EQ(r.median, 5);
  EXPECT_DOUBLE_EQ(r.spread, 2);  // numpy: percentile 75 - percentile 25 = 6 - 4
  EXPECT_GE(r.elapsed_s, 0);
}

TEST(Runner, ACaseWithItsOwnWarmUpGetsNoneFromTheRunner) {
  int taken = 0;
  BenchCase c = sequence_case(&taken);
  c.own_warmup = true;
  StopRule rule;
  rule.warmup_runs = 3;
  rule.max_time_s = 60;
  EXPECT_EQ(run_case(c, {}, rule).samples, (std::vector<double>{1, 2, 3, 4, 5}));
}

TEST(Runner, AnEngineStandInCannotRunHere) {
  BenchCase c;
  c.suite = "kernels";
  c.name = "kernels/gemm";
  c.needs_engine = true;
  try {
    run_case(c, {}, StopRule{});
    FAIL() << "ran";
  } catch (const ds::UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "ds bench: case 'kernels/gemm' needs LibTorch, which this ds lacks; expected ds-engine; hint: run it "
              "through a ds built with the engine");
  }
}

TEST(RunCases, ReportsProgressKeepsTheSelectionAndLetsRealErrorsThrough) {
  int prepared = 0, sampled = 0;
  const BenchCase a = counting_case(&prepared, &sampled, 1.0, 1);
  BenchCase b = counting_case(&prepared, &sampled, 2.0, 1);
  b.name = "t/other";
  RunOptions options;
  options.selection = "t --filter count";
  std::vector<std::string> progress;
  options.on_case = [&](std::size_t i, std::size_t n, const std::string& name) {
    progress.push_back(std::to_string(i) + "/" + std::to_string(n) + " " + name);
  };
  const auto run = run_cases({&a, &b}, options);
  EXPECT_EQ(progress, (std::vector<std::string>{"0/2 t/count", "1/2 t/other"}));
  EXPECT_EQ(run.selection, "t --filter count");
  EXPECT_EQ(run.injected_slowdown, 1);
  ASSERT_EQ(run.results.size(), 2u);
  EXPECT_EQ(run.results[1].median, 2.0);
  EXPECT_EQ(run.id, 0);  // not saved
  BenchCase broken = a;
  broken.prepare = [](const CaseContext&) -> SampleFn { throw ds::RuntimeError("t/count: input missing"); };
  EXPECT_THROW(run_cases({&broken}, RunOptions{}), ds::RuntimeError);
}

TEST(RunCases, RefusesANonPositiveSlowdown) {
  RunOptions options;
  options.inject_slowdown = -1;
  try {
    run_cases({}, options);
    FAIL() << "accepted";
  } catch (const ds::UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--inject-slowdown: factor must be positive (got -1.000000); expected e.g. 1.5 for 50% slower");
  }
  options.inject_slowdown = std::nan("");
  EXPECT_THROW(run_cases({}, options), ds::UsageError);
}

TEST(SecondsPerOp, CallsTheOperationExactlyNTimes) {
  int calls = 0;
  const double s = seconds_per_op(7, [&] { ++calls; });
  EXPECT_EQ(calls, 7);
  EXPECT_GE(s, 0);
}

}  // namespace
