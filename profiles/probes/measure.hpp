#pragma once
#include "profiles/probes/probes.hpp"
#include "profiles/profile_store.hpp"

namespace ds::profiles {

/// Measures this machine: identifies it (CPU, memory, SIMD level, GPUs), runs every probe and
/// returns the profile, not yet stored.
Profile measure_machine(const ProbeOptions& options);

/// Fills machine.gpus from the GPU probe's "gpu.memory" / "gpu.sm_count" rows.
void gpus_from_measurements(Profile& profile);

}  // namespace ds::profiles
