#include "profiles/measurement.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ds::profiles {

TEST(Summarize, MedianAndRobustSpread) {
  Summary s = summarize({10, 11, 9, 10, 100});  // one outlier does not move it
  EXPECT_DOUBLE_EQ(s.median, 10);
  EXPECT_DOUBLE_EQ(s.spread, 0.1);  // deviations 0,1,1,0,90 -> median 1 -> 1/10
  EXPECT_EQ(s.runs, 5);
  EXPECT_DOUBLE_EQ(summarize({1, 3}).median, 2);
  EXPECT_EQ(summarize({}).runs, 0);
}

TEST(Measurement, JsonRoundTrip) {
  Measurement m{"cpu.gemm", {{"dtype", "fp32"}, {"m", 512}}, 123.5, "GFLOP/s", 0.03, 7};
  Measurement back = measurement_from_json(to_json(m));
  EXPECT_EQ(back.probe, m.probe);
  EXPECT_EQ(back.params, m.params);
  EXPECT_DOUBLE_EQ(back.value, m.value);
  EXPECT_EQ(back.unit, m.unit);
  EXPECT_DOUBLE_EQ(back.spread, m.spread);
  EXPECT_EQ(back.runs, 7);
  EXPECT_THROW(measurement_from_json({{"probe", "x"}}), ConfigError);
}

}  // namespace ds::profiles
