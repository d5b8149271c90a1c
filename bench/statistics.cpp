#include "bench/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ds::bench {
namespace {

// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (standard tables); the
// normal 1.96 beyond 30.
double t_quantile_975(int df) {
  static constexpr double kTable[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                        2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                        2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return std::numeric_limits<double>::infinity();
  return df <= 30 ? kTable[df - 1] : 1.96;
}

// Mid-ranks (1-based, ties get their average rank) of `values`.
std::vector<double> mid_ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return values[x] < values[y]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

// P(U >= u) under the null for sample sizes m and n without ties: counts of arrangements with
// each U from the recurrence f(m, n, k) = f(m - 1, n, k - n) + f(m, n - 1, k) (Mann & Whitney 1947),
// built up over m for a fixed n, divided by C(m + n, m). Doubles: C(m + n, m) stays far below
// 2^1023 for the sizes the exact path takes (m <= 8).
double exact_upper_tail(int m, int n, int u) {
  // counts[i][k]: arrangements of i first-sample and j second-sample values with U = k, kept
  // for j = 0..n as j grows; f(i, 0, 0) = 1.
  const int max_u = m * n;
  std::vector<std::vector<double>> prev(m + 1, std::vector<double>(max_u + 1, 0.0));
  for (int i = 0; i <= m; ++i) prev[i][0] = 1;  // j = 0
  for (int j = 1; j <= n; ++j) {
    std::vector<std::vector<double>> cur(m + 1, std::vector<double>(max_u + 1, 0.0));
    cur[0][0] = 1;
    for (int i = 1; i <= m; ++i) {
      for (int k = 0; k <= i * j; ++k) {
        // the largest value is from the first sample (it beats all j) or from the second.
        cur[i][k] = (k >= j ? cur[i - 1][k - j] : 0.0) + prev[i][k];
      }
    }
    prev = std::move(cur);
  }
  double total = 0, tail = 0;
  for (int k = 0; k <= max_u; ++k) {
    total += prev[m][k];
    if (k >= u) tail += prev[m][k];
  }
  return tail / total;
}

}  // namespace

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

double median(std::vector<double> values) { return quantile(std::move(values), 0.5); }

double mean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double stddev(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  const double m = mean(values);
  double sum = 0;
  for (double v : values) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(values.size() - 1));
}

double iqr(const std::vector<double>& values) { return quantile(values, 0.75) - quantile(values, 0.25); }

double relative_ci_half_width(const std::vector<double>& values) {
  const double m = mean(values);
  if (values.size() < 2 || m == 0) return std::numeric_limits<double>::infinity();
  const double n = static_cast<double>(values.size());
  return t_quantile_975(static_cast<int>(values.size()) - 1) * stddev(values) / std::sqrt(n) / std::fabs(m);
}

MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitney r;
  if (a.empty() || b.empty()) return r;
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  const auto ranks = mid_ranks(all);
  const double n1 = static_cast<double>(a.size()), n2 = static_cast<double>(b.size()), n = n1 + n2;
  const double r1 = std::accumulate(ranks.begin(), ranks.begin() + static_cast<std::ptrdiff_t>(a.size()), 0.0);
  r.u1 = r1 - n1 * (n1 + 1) / 2;
  const double u = std::max(r.u1, n1 * n2 - r.u1);  // two-sided: the larger U, doubled tail

  // Tie term sum(t^3 - t) over groups of equal values.
  double tie_term = 0;
  std::vector<double> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i + 1);
    tie_term += t * t * t - t;
    i = j + 1;
  }

  const bool small = a.size() <= 8 || b.size() <= 8;
  if (small && tie_term == 0) {
    r.exact = true;
    r.p_value = std::min(1.0, 2 * exact_upper_tail(static_cast<int>(a.size()), static_cast<int>(b.size()),
                                                   static_cast<int>(std::lround(u))));
    return r;
  }
  const double sigma = std::sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))));
  if (sigma == 0) return r;  // every value equal: no evidence of a difference
  const double z = (u - n1 * n2 / 2 - 0.5) / sigma;
  r.p_value = std::clamp(std::erfc(z / std::sqrt(2.0)), 0.0, 1.0);  // 2 * normal upper tail
  return r;
}

double hodges_lehmann_ratio(const std::vector<double>& baseline, const std::vector<double>& now) {
  std::vector<double> ratios;
  ratios.reserve(baseline.size() * now.size());
  for (double b : baseline) {
    if (b == 0) continue;
    for (double x : now) ratios.push_back(x / b);
  }
  return ratios.empty() ? 1.0 : median(std::move(ratios));
}

}  // namespace ds::bench
