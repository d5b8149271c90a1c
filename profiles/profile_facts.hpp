#pragma once
#include "profiles/cluster_spec.hpp"
#include "profiles/profile_store.hpp"

namespace ds::profiles {

/// Turns a stored profile's measurements into the facts ClusterSpec is built from: the best
/// measured GEMM rate per dtype, device/host/disk bandwidths, CPU Adam rate, collective bus
/// bandwidth at the largest message measured. A probe that was skipped leaves its rate 0
/// (unknown), so the cost model falls back to its documented defaults rather than a guess.
ProfileFacts facts_from_profile(const Profile& profile);

}  // namespace ds::profiles
