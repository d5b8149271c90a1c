#include "profiles/measurement.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace ds::profiles {
namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

Summary summarize(std::vector<double> samples) {
  Summary s;
  s.runs = static_cast<int>(samples.size());
  if (samples.empty()) return s;
  s.median = median_of(samples);
  std::vector<double> dev;
  dev.reserve(samples.size());
  for (double x : samples) dev.push_back(std::fabs(x - s.median));
  s.spread = s.median != 0 ? median_of(dev) / std::fabs(s.median) : 0;
  return s;
}

nlohmann::json to_json(const Measurement& m) {
  return {{"probe", m.probe}, {"params", m.params}, {"value", m.value},
          {"unit", m.unit},   {"spread", m.spread}, {"runs", m.runs}};
}

Measurement measurement_from_json(const nlohmann::json& j) {
  Measurement m;
  try {
    m.probe = j.at("probe").get<std::string>();
    m.params = j.value("params", nlohmann::json::object());
    m.value = j.at("value").get<double>();
    m.unit = j.at("unit").get<std::string>();
    m.spread = j.value("spread", 0.0);
    m.runs = j.value("runs", 0);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(format_error("measurement", "malformed entry", e.what(),
                                   "an object with probe, value, unit (and params, spread, runs)"));
  }
  return m;
}

}  // namespace ds::profiles
