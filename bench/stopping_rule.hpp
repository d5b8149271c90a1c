#pragma once
// When a case has been sampled enough: its 95% confidence interval is narrow, or its time is up.
#include <optional>
#include <string>
#include <vector>

namespace ds::bench {

/// How long each case runs. The defaults suit a developer's machine; CI smoke runs pass a
/// smaller time cap.
struct StopRule {
  int warmup_runs = 2;          ///< samples taken and thrown away first (caches, allocator, JIT)
  int min_samples = 10;         ///< never stop before this many (the rank test needs some: with
                                ///< 5 a side the smallest two-sided p is 0.008)
  int max_samples = 200;        ///< stop here at the latest
  double max_time_s = 3.0;      ///< wall-clock cap per case, warm-up included (setup is not)
  double target_rel_ci = 0.01;  ///< stop once the 95% CI half width of the mean is below this fraction of it
};

enum class StopReason { kConverged, kTimeCap, kMaxSamples };
const char* stop_reason_name(StopReason reason);  ///< "converged" | "time cap" | "max samples"

/// Whether to stop after `samples` (warm-up excluded) taken in `elapsed_s` seconds. The time cap
/// wins even over min_samples (a slow case must not hold CI), but at least one sample is taken.
/// `max_samples` (> 0) overrides the rule's (deterministic cases take one).
std::optional<StopReason> should_stop(const std::vector<double>& samples, double elapsed_s, const StopRule& rule,
                                      int max_samples = 0);

}  // namespace ds::bench
