#pragma once
// Model states: parameters, gradients and optimizer states, partitioned by ZeRO stage and moved
// by offload. Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
// Parameter Models", §5 and Figure 1: mixed-precision Adam holds 2Ψ (fp16 params) + 2Ψ (fp16
// grads) + KΨ (K = 12: fp32 params, momentum, variance); stage 1 partitions the K term over N_d
// ranks, stage 2 also the gradients, stage 3 also the parameters. Offload: Ren et al. 2021,
// "ZeRO-Offload" §4 (fp32 states and gradients on the CPU, fp16 params on the GPU); Rajbhandari et
// al. 2021, "ZeRO-Infinity" §5 (parameters and optimizer states on CPU or NVMe).
#include <cstdint>
#include <vector>

#include "estimators/memory_estimate.hpp"

namespace ds::estimators {

/// Bytes of optimizer state per parameter: Adam/AdamW 8 (fp32 m and v), SGD with momentum 4,
/// plain SGD 0.
double optimizer_state_bytes_per_param(const Plan& plan);

/// The model-state items of one rank holding `params` parameters (params_per_rank), partitioned
/// over plan.zero_partitions(). CPU and NVMe items are per rank (the caller scales to a node).
std::vector<MemoryItem> model_states_memory(std::int64_t params, const Plan& plan);

/// Bytes of a rank's model states on the device only (the ZeRO paper's Figure 1 quantity).
double model_states_device_bytes(std::int64_t params, const Plan& plan);

}  // namespace ds::estimators
