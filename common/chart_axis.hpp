#pragma once
#include <string>
#include <vector>

namespace ds {

/// Tick marks of one chart axis: the values, their labels, and the span they cover (the axis
/// range is widened to the outer ticks so the first and last ticks sit on the frame).
struct AxisTicks {
  std::vector<double> values;       ///< ascending, evenly spaced
  std::vector<std::string> labels;  ///< one per value, same number of decimals on one axis
  double lo = 0;                    ///< first tick
  double hi = 1;                    ///< last tick
};

/// "Nice" ticks covering [lo, hi]: a step of 1, 2 or 5 times a power of ten, the smallest such
/// step that needs at most about `target` intervals (Heckbert, "Nice numbers for graph labels",
/// Graphics Gems, 1990). Example: 0..0.93 with target 5 gives 0, 0.2, ..., 1.0. An empty range
/// (lo == hi) is widened around the value. Non-finite bounds give no ticks.
AxisTicks nice_ticks(double lo, double hi, int target = 5);

/// Ticks for a byte axis: the largest of B, KiB, MiB, GiB, TiB that max(|lo|, |hi|) reaches is
/// the unit, nice ticks are taken in that unit and labelled with it ("0 GiB", "0.5 GiB", ...);
/// values stay in bytes.
AxisTicks byte_ticks(double lo, double hi, int target = 5);

}  // namespace ds
