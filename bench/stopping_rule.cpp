#include "bench/stopping_rule.hpp"

#include "bench/statistics.hpp"

namespace ds::bench {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kConverged: return "converged";
    case StopReason::kTimeCap: return "time cap";
    case StopReason::kMaxSamples: return "max samples";
  }
  return "";
}

std::optional<StopReason> should_stop(const std::vector<double>& samples, double elapsed_s, const StopRule& rule,
                                      int max_samples) {
  const auto n = static_cast<int>(samples.size());
  if (n == 0) return std::nullopt;
  const int cap = max_samples > 0 ? max_samples : rule.max_samples;
  if (n >= cap) return StopReason::kMaxSamples;
  if (elapsed_s >= rule.max_time_s) return StopReason::kTimeCap;
  if (n >= rule.min_samples && relative_ci_half_width(samples) <= rule.target_rel_ci) return StopReason::kConverged;
  return std::nullopt;
}

}  // namespace ds::bench
