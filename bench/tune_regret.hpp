#pragma once
// The tune suite's regret: how much throughput `ds tune`'s first choice gives up against the best
// plan of a small grid, every plan measured by `ds tune --measure`.
#include <nlohmann/json.hpp>

namespace ds::bench {

/// From `ds tune --measure --json`'s "measured" object (plans with "rank", "status",
/// "measured_s"): 1 - (best measured step time / the step time of the plan ranked 1), in [0, 1];
/// 0 when the first choice was the fastest, 1 when it failed. The plans must do the same work per
/// step (one global batch). Throws RuntimeError when no plan ranked 1 was measured or none ran.
double tune_regret(const nlohmann::json& measured);

}  // namespace ds::bench
