#pragma once
// The statistics behind `ds bench`'s verdicts: order statistics of one sample, the Mann-Whitney
// U rank test between two, and the Hodges-Lehmann estimate of their ratio.
#include <vector>

namespace ds::bench {

double median(std::vector<double> values);  ///< 0 for no values
/// Linear-interpolation quantile (numpy's default), q in [0, 1]; 0 for no values.
double quantile(std::vector<double> values, double q);
double mean(const std::vector<double>& values);
double stddev(const std::vector<double>& values);  ///< sample (n - 1) standard deviation; 0 for n < 2
/// Interquartile range (q75 - q25): the spread `ds bench` records next to the median.
double iqr(const std::vector<double>& values);

/// Half width of the two-sided 95% confidence interval of the mean (Student's t), relative to
/// |mean|; infinity for fewer than 2 samples or a zero mean.
double relative_ci_half_width(const std::vector<double>& values);

/// Result of a two-sided Mann-Whitney U test of `a` against `b`.
struct MannWhitney {
  double u1 = 0;       ///< U of the first sample: the pairs (a_i, b_j) with a_i > b_j, ties as 1/2
  double p_value = 1;  ///< two-sided
  bool exact = false;  ///< p from the exact distribution of U, else the normal approximation
};

/// Mann-Whitney U test, as scipy.stats.mannwhitneyu(a, b, alternative="two-sided") with its
/// default method "auto": the exact distribution of U when one sample has at most 8 values and
/// there are no ties, otherwise the normal approximation with the tie-corrected variance and a
/// continuity correction of 1/2 (Mann & Whitney 1947; tie term as in Lehmann, Nonparametrics,
/// 1975). p = 1 when either sample is empty.
MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

/// Hodges-Lehmann estimate of now / baseline: the median over all pairs of now_j / baseline_i
/// (the ratio form of the shift estimator, robust to outliers). 1 when either is empty; pairs
/// with a zero baseline are left out.
double hodges_lehmann_ratio(const std::vector<double>& baseline, const std::vector<double>& now);

}  // namespace ds::bench
