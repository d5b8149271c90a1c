#include "autotune/calibration.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace ds::autotune {
namespace {

double predicted(const CalibrationSample& s, const CostCoefficients& c) {
  double sum = 0;
  for (int t = 0; t < kCostTermCount; ++t) sum += c.scale[t] * s.raw_s[t];
  return sum;
}

void check_samples(const std::vector<CalibrationSample>& samples, const CalibrationOptions& o) {
  if (static_cast<int>(samples.size()) < o.min_trials) {
    throw UsageError(format_error("calibration", "too few measured trials", std::to_string(samples.size()),
                                  "at least " + std::to_string(o.min_trials) + " on this machine",
                                  "run `ds tune --measure K` or `ds train` with a few plans first"));
  }
  for (const auto& s : samples) {
    if (!(s.measured_s > 0) || !std::isfinite(s.measured_s)) {
      throw UsageError(format_error("calibration: trial " + std::to_string(s.trial_id), "measured step time not positive",
                                    std::to_string(s.measured_s), "seconds > 0"));
    }
  }
}

// Ridge-regularised relative least squares over the `free` terms, the others fixed at `c`.
void solve_free(const std::vector<CalibrationSample>& samples, const std::vector<int>& free, const CalibrationOptions& o,
                const CostCoefficients& prior, CostCoefficients& c) {
  const int n = static_cast<int>(samples.size()), m = static_cast<int>(free.size());
  Eigen::MatrixXd x(n, m);
  Eigen::VectorXd b(n);
  for (int i = 0; i < n; ++i) {
    const auto& s = samples[static_cast<std::size_t>(i)];
    double fixed = 0;
    for (int t = 0; t < kCostTermCount; ++t) {
      if (std::find(free.begin(), free.end(), t) == free.end()) fixed += c.scale[t] * s.raw_s[t];
    }
    for (int j = 0; j < m; ++j) x(i, j) = s.raw_s[free[static_cast<std::size_t>(j)]] / s.measured_s;
    b(i) = 1.0 - fixed / s.measured_s;
  }
  Eigen::VectorXd c0(m);
  for (int j = 0; j < m; ++j) c0(j) = prior.scale[free[static_cast<std::size_t>(j)]];
  // The ridge is relative to each column's own weight, so a term worth 1 ms of a 1 s step is
  // fitted as readily as the step's main term; only columns the samples cannot tell apart
  // (always in the same proportion) are settled by the prior.
  Eigen::MatrixXd a = x.transpose() * x;
  Eigen::VectorXd rhs = x.transpose() * b;
  for (int j = 0; j < m; ++j) {
    const double lambda = o.ridge * std::max(a(j, j), 1e-300);
    a(j, j) += lambda;
    rhs(j) += lambda * c0(j);
  }
  Eigen::VectorXd sol = a.ldlt().solve(rhs);
  for (int j = 0; j < m; ++j) c.scale[free[static_cast<std::size_t>(j)]] = sol(j);
}

}  // namespace

double mape(const std::vector<CalibrationSample>& samples, const CostCoefficients& coefficients) {
  if (samples.empty()) return 0;
  double sum = 0;
  for (const auto& s : samples) sum += std::fabs(predicted(s, coefficients) - s.measured_s) / s.measured_s;
  return sum / static_cast<double>(samples.size());
}

Calibration calibrate(const std::vector<CalibrationSample>& samples, const CostCoefficients& prior,
                      const CalibrationOptions& o) {
  check_samples(samples, o);
  Calibration out;
  out.trials = static_cast<int>(samples.size());
  for (const auto& s : samples) out.trial_ids.push_back(s.trial_id);
  out.mape_before = mape(samples, prior);
  CostCoefficients c = prior;
  // A term no sample exercises cannot be fitted: it keeps its prior.
  std::vector<int> free;
  for (int t = 0; t < kCostTermCount; ++t) {
    bool used = std::any_of(samples.begin(), samples.end(), [t](const CalibrationSample& s) { return s.raw_s[t] > 0; });
    if (used) {
      free.push_back(t);
      out.fitted.push_back(static_cast<CostTerm>(t));
    }
  }
  // Bounds by active set: solve, pin the coefficient furthest outside its bounds to the bound,
  // solve the rest again; at most one pass per term.
  while (!free.empty()) {
    solve_free(samples, free, o, prior, c);
    int worst = -1;
    double worst_excess = 0;
    for (int t : free) {
      double excess = std::max(o.min_coefficient - c.scale[t], c.scale[t] - o.max_coefficient);
      if (excess > worst_excess) worst_excess = excess, worst = t;
    }
    if (worst < 0) break;
    c.scale[worst] = std::clamp(c.scale[worst], o.min_coefficient, o.max_coefficient);
    free.erase(std::find(free.begin(), free.end(), worst));
  }
  out.coefficients = c;
  out.mape_after = mape(samples, c);
  return out;
}

}  // namespace ds::autotune
