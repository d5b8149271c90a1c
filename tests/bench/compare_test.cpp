#include "bench/compare.hpp"

#include <gtest/gtest.h>

#include <random>

#include "bench/statistics.hpp"
#include "common/error.hpp"

namespace {

using namespace ds::bench;

CaseResult result(const std::string& name, Kind kind, std::vector<double> samples) {
  CaseResult r;
  r.name = name;
  r.suite = name.substr(0, name.find('/'));
  r.kind = kind;
  r.unit = kind == Kind::kThroughput ? "tokens/s" : kind == Kind::kBytes ? "bytes" : "s";
  r.higher_is_better = kind == Kind::kThroughput;
  r.samples = std::move(samples);
  r.runs = static_cast<int>(r.samples.size());
  r.median = median(r.samples);
  r.spread = iqr(r.samples);
  return r;
}

// Timing-like samples: a base time with right-skewed noise (log-normal, sigma as given).
std::vector<double> noisy(double base, double sigma, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> noise(0.0, sigma);
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(base * noise(rng));
  return v;
}

TEST(Compare, KnownSamplesGiveKnownVerdicts) {
  const CompareOptions o{.alpha = 0.01, .min_effect = 0.05};
  const auto base = result("t/x", Kind::kTime, {1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01, 0.99, 1.00, 1.00});
  // 20% slower, every sample: p tiny, effect +20%.
  auto slow = base;
  for (auto& s : slow.samples) s *= 1.2;
  slow.median *= 1.2;
  auto c = compare_case(&base, slow, 0, o);
  EXPECT_EQ(c.verdict, Verdict::kRegression) << c.note;
  EXPECT_NEAR(c.ratio, 1.2, 1e-12);
  ASSERT_TRUE(c.p_value.has_value());
  EXPECT_NEAR(*c.p_value, 0.00015932017674062256, 1e-12);  // scipy 1.10.1 mannwhitneyu (ties: normal)
  // 20% faster: an improvement.
  auto fast = base;
  for (auto& s : fast.samples) s /= 1.2;
  fast.median /= 1.2;
  EXPECT_EQ(compare_case(&base, fast, 0, o).verdict, Verdict::kImprovement);
  // 2% slower, clearly significant but below the minimum effect.
  auto slightly = base;
  for (auto& s : slightly.samples) s *= 1.02;
  slightly.median *= 1.02;
  c = compare_case(&base, slightly, 0, o);
  EXPECT_EQ(c.verdict, Verdict::kUnchanged);
  EXPECT_NEAR(*c.p_value, 0.008243200589069015, 1e-12);  // scipy 1.10.1
  EXPECT_NE(c.note.find("below min effect"), std::string::npos) << c.note;
  // ... flagged once the minimum effect allows it.
  EXPECT_EQ(compare_case(&base, slightly, 0, {.alpha = 0.01, .min_effect = 0.01}).verdict, Verdict::kRegression);
  // ... but not at the default alpha 0.001.
  EXPECT_EQ(compare_case(&base, slightly, 0, {.alpha = 0.001, .min_effect = 0.01}).verdict, Verdict::kUnchanged);
}

TEST(Compare, ALargeRatioFromTooFewSamplesIsNotSignificant) {
  // 3 samples a side: the smallest two-sided exact p is 0.1, so even 50% slower is not flagged.
  const auto base = result("t/x", Kind::kTime, {1.0, 1.1, 0.9});
  const auto now = result("t/x", Kind::kTime, {1.5, 1.6, 1.4});
  const auto c = compare_case(&base, now, 0, {});
  EXPECT_EQ(c.verdict, Verdict::kUnchanged);
  EXPECT_NEAR(*c.p_value, 0.1, 1e-12);
}

TEST(Compare, NoisyEqualSamplesAreNotFlagged) {
  // 1000 pairs of runs of the same "build": 15% log-normal noise, 30 samples each. A rank test
  // at alpha flags about alpha of them by chance; the defaults keep that to 0.2% (2 of these
  // 1000), where alpha 0.01 with a 5% minimum effect flagged 11.
  int flagged = 0;
  for (unsigned seed = 0; seed < 1000; ++seed) {
    const auto a = result("t/x", Kind::kTime, noisy(1e-3, 0.15, 30, 2 * seed));
    const auto b = result("t/x", Kind::kTime, noisy(1e-3, 0.15, 30, 2 * seed + 1));
    flagged += compare_case(&a, b, 0, {}).verdict != Verdict::kUnchanged ? 1 : 0;
  }
  EXPECT_LE(flagged, 2);
  // Quiet samples (2% noise) are never flagged.
  for (unsigned seed = 0; seed < 200; ++seed) {
    const auto a = result("t/x", Kind::kTime, noisy(1e-3, 0.02, 30, 2 * seed));
    const auto b = result("t/x", Kind::kTime, noisy(1e-3, 0.02, 30, 2 * seed + 1));
    EXPECT_EQ(compare_case(&a, b, 0, {}).verdict, Verdict::kUnchanged) << seed;
  }
}

TEST(Compare, DefaultsAreDocumented) {
  const CompareOptions o;
  EXPECT_DOUBLE_EQ(o.alpha, 0.001);
  EXPECT_DOUBLE_EQ(o.min_effect, 0.05);
}

TEST(Compare, ATwentyPercentSlowdownInNoiseIsFlagged) {
  int caught = 0;
  for (unsigned seed = 0; seed < 50; ++seed) {
    const auto a = result("t/x", Kind::kTime, noisy(1e-3, 0.05, 30, 2 * seed));
    const auto b = result("t/x", Kind::kTime, noisy(1.2e-3, 0.05, 30, 2 * seed + 1));
    caught += compare_case(&a, b, 0, {}).verdict == Verdict::kRegression ? 1 : 0;
  }
  EXPECT_EQ(caught, 50);
}

TEST(Compare, ThroughputRegressesWhenItDrops) {
  const auto base = result("s/tps", Kind::kThroughput, noisy(1000, 0.02, 20, 7));
  auto now = result("s/tps", Kind::kThroughput, noisy(800, 0.02, 20, 8));
  EXPECT_EQ(compare_case(&base, now, 0, {}).verdict, Verdict::kRegression);
  now = result("s/tps", Kind::kThroughput, noisy(1250, 0.02, 20, 8));
  EXPECT_EQ(compare_case(&base, now, 0, {}).verdict, Verdict::kImprovement);
}

TEST(Compare, BytesAndAccuracyCompareExactlyOrWithinTolerance) {
  const auto base = result("m/peak", Kind::kBytes, {1000});
  EXPECT_EQ(compare_case(&base, result("m/peak", Kind::kBytes, {1000}), 0, {}).verdict, Verdict::kUnchanged);
  EXPECT_EQ(compare_case(&base, result("m/peak", Kind::kBytes, {1001}), 0, {}).verdict, Verdict::kRegression);
  EXPECT_EQ(compare_case(&base, result("m/peak", Kind::kBytes, {999}), 0, {}).verdict, Verdict::kImprovement);
  EXPECT_EQ(compare_case(&base, result("m/peak", Kind::kBytes, {1009}), 0.01, {}).verdict, Verdict::kUnchanged);
  EXPECT_EQ(compare_case(&base, result("m/peak", Kind::kBytes, {1011}), 0.01, {}).verdict, Verdict::kRegression);
  EXPECT_FALSE(compare_case(&base, result("m/peak", Kind::kBytes, {1001}), 0, {}).p_value.has_value());
  // Accuracy: the tolerance is an amount in the unit (an error of 0.0002 moving to 0.004 is fine at 0.005).
  const auto error = result("e/err", Kind::kAccuracy, {0.0002});
  auto c = compare_case(&error, result("e/err", Kind::kAccuracy, {0.004}), 0.005, {});
  EXPECT_EQ(c.verdict, Verdict::kUnchanged);
  EXPECT_EQ(c.note, "within 0.005 s");
  c = compare_case(&error, result("e/err", Kind::kAccuracy, {0.0062}), 0.005, {});
  EXPECT_EQ(c.verdict, Verdict::kRegression);
  EXPECT_EQ(c.note, "beyond 0.005 s, +3000.0%");
  EXPECT_EQ(compare_case(&base, result("m/peak", Kind::kBytes, {1011}), 0.01, {}).note, "beyond 1.0%, +1.1%");
}

BenchRun run_on(const std::string& fingerprint, std::vector<CaseResult> results, std::int64_t id) {
  BenchRun run;
  run.id = id;
  run.machine_fingerprint = fingerprint;
  run.results = std::move(results);
  return run;
}

TEST(Compare, TimeCasesCompareOnlyWithTheSameMachine) {
  const auto time_base = result("t/x", Kind::kTime, {1, 1, 1, 1, 1, 1, 1, 1});
  const auto bytes_base = result("m/peak", Kind::kBytes, {1000});
  // The baseline has runs from two machines; the newest first.
  const std::vector<BenchRun> baseline = {run_on("other", {time_base, bytes_base}, 2)};
  const BenchRun now = run_on("this", {result("t/x", Kind::kTime, {2, 2, 2, 2, 2, 2, 2, 2}),
                                       result("m/peak", Kind::kBytes, {2000}), result("new/case", Kind::kTime, {1})},
                              3);
  const auto cmp = compare_runs("main", baseline, now, nullptr, {});
  ASSERT_EQ(cmp.cases.size(), 3u);
  EXPECT_EQ(cmp.cases[0].verdict, Verdict::kOtherMachine);  // 2x slower, but elsewhere
  EXPECT_EQ(cmp.cases[1].verdict, Verdict::kRegression);    // bytes compare anywhere
  EXPECT_EQ(cmp.cases[1].baseline_run_id, 2);
  EXPECT_EQ(cmp.cases[2].verdict, Verdict::kNoBaseline);
  EXPECT_TRUE(cmp.regressed());
  // With an older baseline run from this machine too, the time case finds it.
  const std::vector<BenchRun> both = {baseline[0], run_on("this", {time_base}, 1)};
  const auto again = compare_runs("main", both, now, nullptr, {});
  EXPECT_EQ(again.cases[0].verdict, Verdict::kRegression);
  EXPECT_EQ(again.cases[0].baseline_run_id, 1);
}

TEST(Compare, UnknownBaselineAndBadOptionsAreUsageErrors) {
  try {
    compare_runs("mian", {}, {}, nullptr, {}, {"main", "nightly"});
    FAIL();
  } catch (const ds::UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--baseline: no stored baseline named 'mian'; expected one of: main, nightly; hint: save one first "
              "with `ds bench run SUITE --save-baseline mian`; did you mean 'main'?");
  }
  EXPECT_THROW(validate({.alpha = 0, .min_effect = 0.05}), ds::UsageError);
  EXPECT_THROW(validate({.alpha = 0.01, .min_effect = -1}), ds::UsageError);
}

}  // namespace
