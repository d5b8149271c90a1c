#pragma once
// What ds's own ZeRO optimizer (engine/zero/zero_optimizer.cpp) holds, where it differs from
// DeepSpeed's: it keeps this rank's gradient partition in fp32 from the first bucket on (DeepSpeed
// keeps it in the working dtype and makes the fp32 copy in the step), it stages each reduce
// bucket in fp32 (as DeepSpeed with communication_data_type fp32), it keeps an fp32 master even
// in fp32 training, and stage 3 gathers one transformer block at a time (and the next one ahead,
// within the prefetch limits). On Gloo, which has no reduce-scatter, a bucket's reduce-scatter is
// an all-to-all into a receive buffer as large as the bucket, then a local sum
// (engine/comm/collectives.cpp).
// With optimizer offload to the CPU the fp32 master, gradient partition and optimizer states are
// host buffers (engine/offload/host_tier.hpp), on one rank as on many; with NVMe, Adam's states
// are swap files streamed through host buffers (engine/offload/swapped_states.hpp). ZeRO-3's
// parameter chunks are host buffers with offload_param cpu, and with nvme one swap file read
// through buffer_count host buffers (engine/offload/swapped_params.hpp).
// Used when Plan::ds_zero_optimizer() holds; everything else is priced as for DeepSpeed.
#include <cstdint>
#include <vector>

#include "estimators/memory_estimate.hpp"

namespace ds::estimators {

/// Adam's states ds's engine swaps to NVMe (exp_avg, exp_avg_sq; the fp32 master stays in host memory).
inline constexpr double kDsSwappedStates = 2;

/// How ds's engine lays out `n` elements of each swapped state (engine/offload/swapped_states.cpp):
/// sub-groups of sub_group_size elements rounded up to whole 4 KiB blocks, files of whole blocks
/// per sub-group, and the host buffer sets that stream them.
struct DsNvmeLayout {
  double sub_group = 0;      ///< elements per sub-group (a multiple of 1024)
  double sub_groups = 0;
  double file_elements = 0;  ///< per state file
  double buffer_sets = 0;    ///< each holds one sub-group of every swapped state
};
DsNvmeLayout ds_nvme_layout(double n, const Plan& plan);

/// Elements of a rank's fp32 partition of `n` that stay on the device under partial optimizer
/// offload (offload_optimizer.ratio < 1 at ZeRO-3), split as DeepSpeed's stage 3 splits them: the
/// partition in sub-groups of sub_group_size elements, the first int((1 - ratio) x sub-groups)
/// kept, the rest offloaded. ratio 1 keeps none. The engine (engine/zero) splits by this rule too.
std::int64_t ds_partial_offload_on_device(std::int64_t n, double ratio, std::int64_t sub_group_size);
/// The same for a partition of `n` under `plan` (0 without partial offload).
double ds_partial_offload_kept(double n, const Plan& plan);

/// The model-state items of one rank under ds's ZeRO optimizer: 16-bit (or fp32) parameters,
/// the fp32 master, optimizer states and gradient partition, and at stage 1 the whole gradient.
std::vector<MemoryItem> ds_zero_model_states(std::int64_t params, const Plan& plan);

/// Its buffers: fp32 reduce buckets and the reduce-scatter's receive and result buffers (during
/// backward at stages 2-3, in the step at stage 1), the stage 1/2 parameter all-gather, and the
/// blocks ZeRO-3 has gathered, for a model of `layers` blocks counted as `count`. `cpu_device`:
/// the ranks talk over Gloo. The optimizer's scratch chunks are buffer_memory's, as without ZeRO.
std::vector<MemoryItem> ds_zero_buffers(const ParamCount& count, std::int64_t layers, std::int64_t params,
                                        const Plan& plan, bool cpu_device);

}  // namespace ds::estimators
