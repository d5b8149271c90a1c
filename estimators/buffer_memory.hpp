#pragma once
// Buffers beside the model states: gradient reduce buckets, parameter all-gather buckets, the
// parameters ZeRO-3 gathers for compute, the fp32 gradient copy and scratch of the optimizer step, and the
// pinned host buffers that stage NVMe offload. Sizes follow DeepSpeed's config keys and defaults
// (deepspeed/runtime/zero/config.py, zero/offload_config.py; docs: deepspeed.ai/docs/config-json).
#include <cstdint>
#include <vector>

#include "estimators/memory_estimate.hpp"

namespace ds::estimators {

inline constexpr double kOptimizerChunk = 1 << 18;    ///< elements per chunk of ds's optimizer step (engine/train/optimizer.cpp)

/// The buffer items of one rank holding `params` parameters of a model counted as `count`.
/// CPU items are per rank (the caller scales to a node). `cpu_device`: the ranks compute on the
/// CPU (LibTorch's CPU kernels make temporaries that CUDA kernels do not).
std::vector<MemoryItem> buffer_memory(const ParamCount& count, std::int64_t params, const Plan& plan,
                                      bool cpu_device = false);

}  // namespace ds::estimators
