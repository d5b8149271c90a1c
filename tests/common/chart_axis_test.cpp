#include "common/chart_axis.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace ds {
namespace {

std::vector<std::string> labels(const AxisTicks& t) { return t.labels; }

}  // namespace

// 0..0.93 in about 5 intervals: raw step 0.186 rounds up to 0.2; the axis ends at 1.0.
TEST(ChartAxis, NiceTicksRoundUpToOneTwoOrFiveTimesAPowerOfTen) {
  const auto t = nice_ticks(0, 0.93);
  EXPECT_EQ(labels(t), (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  ASSERT_EQ(t.values.size(), 6u);
  EXPECT_DOUBLE_EQ(t.values[3], 0.6000000000000001);  // 3 * 0.2: values are i * step
  EXPECT_EQ(t.lo, 0);
  EXPECT_DOUBLE_EQ(t.hi, 1.0);
  EXPECT_EQ(labels(nice_ticks(0, 100)), (std::vector<std::string>{"0", "20", "40", "60", "80", "100"}));
  EXPECT_EQ(labels(nice_ticks(1, 37, 8)), (std::vector<std::string>{"0", "5", "10", "15", "20", "25", "30", "35", "40"}));
  EXPECT_EQ(labels(nice_ticks(3.72, 4.18)), (std::vector<std::string>{"3.7", "3.8", "3.9", "4.0", "4.1", "4.2"}));
}

TEST(ChartAxis, NegativeAndReversedRanges) {
  EXPECT_EQ(labels(nice_ticks(-3, 7)), (std::vector<std::string>{"-4", "-2", "0", "2", "4", "6", "8"}));
  EXPECT_EQ(labels(nice_ticks(7, -3)), labels(nice_ticks(-3, 7)));
  EXPECT_EQ(labels(nice_ticks(-0.05, 0.05)),
            (std::vector<std::string>{"-0.06", "-0.04", "-0.02", "0.00", "0.02", "0.04", "0.06"}));
}

// A single value gets +-10% (or +-1 around zero) so the point sits inside the frame.
TEST(ChartAxis, AnEmptyRangeIsWidened) {
  EXPECT_EQ(labels(nice_ticks(5, 5)), (std::vector<std::string>{"4.4", "4.6", "4.8", "5.0", "5.2", "5.4", "5.6"}));
  EXPECT_EQ(labels(nice_ticks(0, 0)), (std::vector<std::string>{"-1.0", "-0.5", "0.0", "0.5", "1.0"}));
}

TEST(ChartAxis, LargeValuesUseShortExponents) {
  EXPECT_EQ(labels(nice_ticks(0, 1e9)), (std::vector<std::string>{"0", "2e+08", "4e+08", "6e+08", "8e+08", "1e+09"}));
}

TEST(ChartAxis, NonFiniteBoundsGiveNoTicks) {
  EXPECT_TRUE(nice_ticks(0, std::numeric_limits<double>::quiet_NaN()).values.empty());
  EXPECT_TRUE(byte_ticks(-std::numeric_limits<double>::infinity(), 1).values.empty());
}

TEST(ChartAxis, ByteTicksPickTheUnitOfTheLargestValue) {
  const double gib = 1024.0 * 1024 * 1024;
  const auto g = byte_ticks(0, 3.2 * gib);
  EXPECT_EQ(labels(g), (std::vector<std::string>{"0 GiB", "1 GiB", "2 GiB", "3 GiB", "4 GiB"}));
  EXPECT_EQ(g.values[2], 2 * gib);
  EXPECT_EQ(labels(byte_ticks(0, 1.5 * gib)), (std::vector<std::string>{"0.0 GiB", "0.5 GiB", "1.0 GiB", "1.5 GiB"}));
  const auto m = byte_ticks(0, 700.0 * 1024 * 1024);
  EXPECT_EQ(labels(m), (std::vector<std::string>{"0 MiB", "200 MiB", "400 MiB", "600 MiB", "800 MiB"}));
  EXPECT_EQ(m.hi, 800.0 * 1024 * 1024);
  EXPECT_EQ(labels(byte_ticks(0, 500)), (std::vector<std::string>{"0 B", "100 B", "200 B", "300 B", "400 B", "500 B"}));
  // 2.93 KiB: raw step 0.59 rounds up to 1.
  EXPECT_EQ(labels(byte_ticks(0, 3000)), (std::vector<std::string>{"0 KiB", "1 KiB", "2 KiB", "3 KiB"}));
}

}  // namespace ds
