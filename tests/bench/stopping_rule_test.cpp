#include "bench/stopping_rule.hpp"

#include <gtest/gtest.h>

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

}  // namespace
