#include "common/chart_axis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ds {
namespace {

// Guards floor/ceil against values like 2.0000000000000004 steps.
constexpr double kStepSlack = 1e-9;

// The smallest of 1, 2, 5, 10 times 10^k that is at least `raw`.
double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  for (double m : {1.0, 2.0, 5.0}) {
    if (normalized <= m * (1 + kStepSlack)) return m * magnitude;
  }
  return 10 * magnitude;
}

// Decimals that print every multiple of `step` exactly (step is 1, 2 or 5 times 10^k).
int decimals_for(double step) {
  return std::max(0, -static_cast<int>(std::floor(std::log10(step) + kStepSlack)));
}

std::string format_tick(double value, int decimals, const char* suffix) {
  if (value == 0) value = 0;  // no "-0.0"
  char buf[64];
  if (std::fabs(value) >= 1e7 || decimals > 6) {
    std::snprintf(buf, sizeof buf, "%.4g%s", value, suffix);
  } else {
    std::snprintf(buf, sizeof buf, "%.*f%s", decimals, value, suffix);
  }
  return buf;
}

// Ticks in a scaled unit: values are multiplied back by `scale`, labels get `suffix`.
AxisTicks scaled_ticks(double lo, double hi, int target, double scale, const char* suffix) {
  AxisTicks ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  lo /= scale;
  hi /= scale;
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double step = nice_step((hi - lo) / std::max(1, target));
  const auto first = static_cast<long long>(std::floor(lo / step + kStepSlack));
  const auto last = static_cast<long long>(std::ceil(hi / step - kStepSlack));
  const int decimals = decimals_for(step);
  for (long long i = first; i <= last; ++i) {
    const double value = static_cast<double>(i) * step;
    ticks.values.push_back(value * scale);
    ticks.labels.push_back(format_tick(value, decimals, suffix));
  }
  ticks.lo = ticks.values.front();
  ticks.hi = ticks.values.back();
  return ticks;
}

}  // namespace

AxisTicks nice_ticks(double lo, double hi, int target) { return scaled_ticks(lo, hi, target, 1.0, ""); }

AxisTicks byte_ticks(double lo, double hi, int target) {
  static constexpr const char* kUnits[] = {" B", " KiB", " MiB", " GiB", " TiB"};
  const double largest = std::max(std::fabs(lo), std::fabs(hi));
  int unit = 0;
  double scale = 1;
  while (unit < 4 && largest >= scale * 1024) {
    scale *= 1024;
    ++unit;
  }
  return scaled_ticks(lo, hi, target, scale, kUnits[unit]);
}

}  // namespace ds
