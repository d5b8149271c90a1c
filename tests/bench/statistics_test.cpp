#include "bench/statistics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using ds::bench::hodges_lehmann_ratio;
using ds::bench::mann_whitney_u;

// Reference values from scipy 1.10.1 (Debian bookworm's python3-scipy):
//   scipy.stats.mannwhitneyu(a, b, alternative="two-sided")   # method="auto"
// which takes the exact distribution when a sample has at most 8 values and there are no ties,
// else the normal approximation with tie correction and continuity correction.
struct Reference {
  const char* name;
  std::vector<double> a, b;
  double u1, p;
  bool exact;
};

std::vector<Reference> references() {
  std::vector<double> a_large, b_large;
  for (int i = 0; i < 12; ++i) a_large.push_back(0.1 * i + 0.013 * (i % 3));
  for (int i = 0; i < 10; ++i) b_large.push_back(0.1 * i + 0.35 + 0.007 * (i % 5));
  return {
      {"separated 5 vs 5 (exact: 2/252)", {1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, 0.0, 0.007936507936507936, true},
      {"overlapping 5 vs 6 (exact)", {1.1, 2.3, 3.5, 4.2, 6.1}, {2.0, 5.0, 6.5, 7.2, 8.8, 9.1}, 5.0,
       0.08225108225108226, true},
      {"ties, small (normal)", {1, 2, 2, 3, 4}, {2, 3, 3, 5, 6}, 6.0, 0.19882894401644247, false},
      {"12 vs 10, no ties (normal)", a_large, b_large, 36.0, 0.12125097588073802, false},
      {"10 vs 11 with ties (normal)", {1, 1, 2, 2, 2, 3, 3, 4, 5, 5}, {2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7}, 21.5,
       0.018661784986012855, false},
      {"9 vs 3 (exact)", {1, 2, 3, 4, 5, 6, 7, 8, 9}, {3.5, 8.5, 10}, 7.0, 0.2818181818181818, true},
  };
}

TEST(MannWhitney, MatchesScipy) {
  for (const auto& ref : references()) {
    const auto r = mann_whitney_u(ref.a, ref.b);
    EXPECT_DOUBLE_EQ(r.u1, ref.u1) << ref.name;
    EXPECT_NEAR(r.p_value, ref.p, 1e-12) << ref.name;
    EXPECT_EQ(r.exact, ref.exact) << ref.name;
  }
}

TEST(MannWhitney, IsSymmetricInItsSamples) {
  for (const auto& ref : references()) {
    EXPECT_NEAR(mann_whitney_u(ref.b, ref.a).p_value, mann_whitney_u(ref.a, ref.b).p_value, 1e-12) << ref.name;
  }
}

TEST(MannWhitney, EqualValuesAndEmptySamplesGiveNoEvidence) {
  // scipy: mannwhitneyu([3]*9, [3]*9) -> U 40.5, p 1.0
  const auto equal = mann_whitney_u(std::vector<double>(9, 3.0), std::vector<double>(9, 3.0));
  EXPECT_DOUBLE_EQ(equal.u1, 40.5);
  EXPECT_DOUBLE_EQ(equal.p_value, 1.0);
  EXPECT_DOUBLE_EQ(mann_whitney_u({}, {1, 2}).p_value, 1.0);
}

TEST(Statistics, OrderStatisticsAsNumpy) {
  // numpy.median / numpy.quantile (linear) / numpy.std(ddof=1)
  EXPECT_DOUBLE_EQ(ds::bench::median({5, 1, 3}), 3);
  EXPECT_DOUBLE_EQ(ds::bench::median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(ds::bench::quantile({1, 2, 3, 4, 5}, 0.25), 2);
  EXPECT_DOUBLE_EQ(ds::bench::iqr({1, 2, 3, 4, 5, 6, 7, 8}), 3.5);  // 6.25 - 2.75
  EXPECT_NEAR(ds::bench::stddev({2, 4, 4, 4, 5, 5, 7, 9}), 2.138089935299395, 1e-12);
  EXPECT_DOUBLE_EQ(ds::bench::median({}), 0);
}

TEST(Statistics, RelativeConfidenceIntervalUsesStudentT) {
  // mean 10, s = 1, n = 4: t(0.975, 3) = 3.182 -> 3.182 * 1 / 2 / 10 = 0.1591 (scipy.stats.t.ppf: 3.1824)
  const std::vector<double> v = {10 - std::sqrt(0.75), 10 - std::sqrt(0.75), 10 + std::sqrt(0.75), 10 + std::sqrt(0.75)};
  EXPECT_NEAR(ds::bench::stddev(v), 1.0, 1e-12);
  EXPECT_NEAR(ds::bench::relative_ci_half_width(v), 3.182 / 2 / 10, 1e-3);
  EXPECT_TRUE(std::isinf(ds::bench::relative_ci_half_width({1.0})));
}

TEST(Statistics, HodgesLehmannRatioIsTheMedianPairwiseRatio) {
  EXPECT_DOUBLE_EQ(hodges_lehmann_ratio({1, 2}, {2, 4}), 2.0);  // ratios 2, 4, 1, 2 -> median 2
  EXPECT_DOUBLE_EQ(hodges_lehmann_ratio({10, 10, 10}, {12, 12, 1000}), 1.2);  // one outlier moves it not
  EXPECT_DOUBLE_EQ(hodges_lehmann_ratio({}, {1}), 1.0);
}

}  // namespace
