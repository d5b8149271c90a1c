#pragma once
// Calibration of the cost model from measured runs: the step time is linear in the per-term
// coefficients (autotune/cost_model.hpp), so measured step times of trials fix them by least
// squares. Relative errors are minimised (each row divided by its measured time, so a 10 ms step
// counts as much as a 10 s one), a small ridge (relative to each term's size) settles
// coefficients the trials cannot tell apart at their prior's proportions, and bounds keep each coefficient physical; a term no trial exercises keeps
// its prior.
#include <cstdint>
#include <string>
#include <vector>

#include "autotune/cost_model.hpp"

namespace ds::autotune {

/// One measured run: the cost model's raw terms for its plan and the measured step time.
struct CalibrationSample {
  std::array<double, kCostTermCount> raw_s{};  ///< CostEstimate::raw_s of the trial's plan
  double measured_s = 0;                       ///< measured seconds per optimizer step
  std::int64_t trial_id = 0;                   ///< trials table row, 0 for synthetic samples
};

/// Guards of a fit.
struct CalibrationOptions {
  int min_trials = 4;              ///< refuse to fit from fewer samples
  double min_coefficient = 0.05;   ///< a term is at least 1/20 of its derived time
  double max_coefficient = 50.0;   ///< and at most 50 times it
  double ridge = 1e-4;             ///< weight of (c - prior)^2, relative to each term's own sum of squares
};

/// The outcome of a fit.
struct Calibration {
  CostCoefficients coefficients;
  std::vector<CostTerm> fitted;    ///< terms the samples exercised (the rest kept their prior)
  int trials = 0;
  double mape_before = 0;          ///< mean |predicted - measured| / measured with the prior, 0..
  double mape_after = 0;           ///< the same with the fitted coefficients
  std::vector<std::int64_t> trial_ids;
};

/// Mean absolute percentage error (as a fraction) of `coefficients` over `samples`.
double mape(const std::vector<CalibrationSample>& samples, const CostCoefficients& coefficients);

/// Fits the coefficients. Throws UsageError when there are fewer than min_trials samples or a
/// measured time is not positive.
Calibration calibrate(const std::vector<CalibrationSample>& samples, const CostCoefficients& prior,
                      const CalibrationOptions& options = {});

}  // namespace ds::autotune
