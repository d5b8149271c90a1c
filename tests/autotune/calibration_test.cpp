#include "autotune/calibration.hpp"

#include <gtest/gtest.h>

#include <random>

#include "common/error.hpp"

namespace {

using ds::autotune::CalibrationSample;
using ds::autotune::CostCoefficients;
using ds::autotune::CostTerm;
using ds::autotune::kCostTermCount;

// Synthetic trials: random raw terms for compute, dp_comm, optimizer and overhead (the rest 0),
// measured = true coefficients . raw, optionally with multiplicative noise.
std::vector<CalibrationSample> synthetic(const CostCoefficients& truth, int n, double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.01, 1.0);
  std::normal_distribution<double> eps(0.0, noise);
  std::vector<CalibrationSample> out;
  for (int i = 0; i < n; ++i) {
    CalibrationSample s;
    for (CostTerm t : {CostTerm::kCompute, CostTerm::kDpComm, CostTerm::kOptimizer, CostTerm::kOverhead}) {
      s.raw_s[static_cast<int>(t)] = u(rng);
    }
    double y = 0;
    for (int t = 0; t < kCostTermCount; ++t) y += truth.scale[t] * s.raw_s[t];
    s.measured_s = y * (1.0 + eps(rng));
    s.trial_id = i + 1;
    out.push_back(s);
  }
  return out;
}

CostCoefficients truth() {
  CostCoefficients c;
  c[CostTerm::kCompute] = 1.8;
  c[CostTerm::kDpComm] = 0.6;
  c[CostTerm::kOptimizer] = 3.0;
  c[CostTerm::kOverhead] = 0.25;
  return c;
}

TEST(Calibration, RecoversKnownCoefficientsFromExactTrials) {
  auto samples = synthetic(truth(), 12, 0.0, 1);
  auto fit = ds::autotune::calibrate(samples, CostCoefficients{});
  for (CostTerm t : {CostTerm::kCompute, CostTerm::kDpComm, CostTerm::kOptimizer, CostTerm::kOverhead}) {
    EXPECT_NEAR(fit.coefficients[t], truth()[t], 2e-3) << ds::autotune::cost_term_name(t);
  }
  // Terms no trial exercised keep the prior.
  EXPECT_EQ(fit.coefficients[CostTerm::kBubble], 1.0);
  EXPECT_EQ(fit.fitted.size(), 4u);
  EXPECT_GT(fit.mape_before, 0.2);
  EXPECT_LT(fit.mape_after, 1e-3);
  EXPECT_EQ(fit.trials, 12);
  EXPECT_EQ(fit.trial_ids.back(), 12);
}

TEST(Calibration, NoisyTrialsStillLandNear) {
  auto samples = synthetic(truth(), 40, 0.02, 7);
  auto fit = ds::autotune::calibrate(samples, CostCoefficients{});
  EXPECT_NEAR(fit.coefficients[CostTerm::kCompute], 1.8, 0.1);
  EXPECT_NEAR(fit.coefficients[CostTerm::kOptimizer], 3.0, 0.2);
  EXPECT_LT(fit.mape_after, 0.03);
}

TEST(Calibration, BoundsHold) {
  // A term whose true coefficient is 0 (it never costs anything) is pinned at the lower bound,
  // and the others refit around it.
  auto t = truth();
  t[CostTerm::kDpComm] = 0.0;
  auto fit = ds::autotune::calibrate(synthetic(t, 12, 0.0, 3), CostCoefficients{});
  EXPECT_DOUBLE_EQ(fit.coefficients[CostTerm::kDpComm], 0.05);
  EXPECT_NEAR(fit.coefficients[CostTerm::kCompute], 1.8, 0.1);
  for (int i = 0; i < kCostTermCount; ++i) {
    EXPECT_GE(fit.coefficients.scale[i], 0.05);
    EXPECT_LE(fit.coefficients.scale[i], 50.0);
  }
}

TEST(Calibration, RefusesTooFewTrials) {
  try {
    ds::autotune::calibrate(synthetic(truth(), 3, 0.0, 1), CostCoefficients{});
    FAIL() << "no error";
  } catch (const ds::UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "calibration: too few measured trials (got 3); expected at least 4 on this machine; hint: run `ds "
                 "tune --measure K` or `ds train` with a few plans first");
  }
}

TEST(Calibration, RefusesANonPositiveMeasurement) {
  auto samples = synthetic(truth(), 5, 0.0, 1);
  samples[2].measured_s = 0;
  EXPECT_THROW(ds::autotune::calibrate(samples, CostCoefficients{}), ds::UsageError);
}

}  // namespace
