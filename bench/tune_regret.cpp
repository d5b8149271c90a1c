#include "bench/tune_regret.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace ds::bench {

namespace {

std::optional<double> step_time_of(const nlohmann::json& plan) {
  const auto s = plan.find("measured_s");
  if (plan.value("status", "") != "ok" || s == plan.end() || !s->is_number() || s->get<double>() <= 0) return std::nullopt;
  return s->get<double>();
}

}  // namespace

double tune_regret(const nlohmann::json& measured) {
  const auto plans = measured.find("plans");
  if (!measured.is_object() || plans == measured.end() || !plans->is_array()) {
    throw RuntimeError(format_error("ds tune --measure --json", "no \"plans\" list in \"measured\""));
  }
  double best = std::numeric_limits<double>::infinity();
  std::optional<double> first;
  bool ranked_first = false;
  for (const auto& plan : *plans) {
    const std::optional<double> t = step_time_of(plan);
    if (t) best = std::min(best, *t);
    if (plan.value("rank", 0) == 1) {
      ranked_first = true;
      first = t;
    }
  }
  if (!ranked_first) throw RuntimeError(format_error("ds tune --measure --json", "the plan ranked 1 was not measured"));
  if (best == std::numeric_limits<double>::infinity()) {
    throw RuntimeError(format_error("ds tune --measure --json", "no plan ran", "", "the runs' errors are in the output"));
  }
  return first ? 1.0 - best / *first : 1.0;
}

}  // namespace ds::bench
