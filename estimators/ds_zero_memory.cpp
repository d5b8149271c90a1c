#include "estimators/ds_zero_memory.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "estimators/model_states_memory.hpp"
#include "estimators/param_count.hpp"

namespace ds::estimators {
namespace {

std::string describe(double bytes_each, double n, const char* what) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%g B x %.4g elements %s", bytes_each, n, what);
  return buf;
}

MemoryItem item_at(Location at, Category c, Phase phase, double bytes_each, double n, const char* what) {
  return {c, at, phase, bytes_each * n, describe(bytes_each, n, what)};
}

MemoryItem device_item(Category c, Phase phase, double bytes_each, double n, const char* what) {
  return item_at(Location::kDevice, c, phase, bytes_each, n, what);
}

// One bucket's reduce-scatter into this rank's fp32 chunk. Gloo's all-to-all fills a receive
// buffer of the whole bucket beside the chunk while in flight; waiting for it adds the local sum
// before it is copied into the chunk. NCCL reduce-scatters straight into the chunk, and a group
// of one copies the bucket into it.
void add_reduce_scatter(double n, int partitions, Phase phase, bool gloo, bool in_flight,
                        std::vector<MemoryItem>& out) {
  if (!gloo || partitions == 1) {
    out.push_back(device_item(Category::kCommBuckets, phase, 4, n / partitions, "reduce-scatter chunk (fp32)"));
  } else if (in_flight) {
    out.push_back(device_item(Category::kCommBuckets, phase, 4, n + n / partitions,
                              "Gloo reduce-scatter in flight: receive buffer and chunk (fp32)"));
  } else {
    out.push_back(device_item(Category::kCommBuckets, phase, 4, n + 2 * n / partitions,
                              "Gloo reduce-scatter: receive buffer, sum and chunk (fp32)"));
  }
}

// O_DIRECT moves whole 4096-byte blocks: 1024 fp32 elements.
double round_to_block(double n) { return std::ceil(n / 1024) * 1024; }

// offload_param nvme (engine/offload/swapped_params.cpp): this rank's chunk of each bucket (a
// block's parameters, the rest, the persistent ones, over the ranks) from a 4 KiB boundary of one
// swap file, read through buffer_count host buffers of the largest chunk.
void add_param_swap(double block, double rest, double persistent, std::int64_t layers, const Plan& plan,
                    std::vector<MemoryItem>& out) {
  const double parts = plan.zero_partitions(), w = dtype_bytes(plan.dtype);
  auto blocks_of = [&](double n) { return std::ceil(std::ceil(n / parts) * w / 4096) * 4096; };
  const double file = static_cast<double>(layers) * blocks_of(block) + blocks_of(rest) + blocks_of(persistent);
  out.push_back(item_at(Location::kNvme, Category::kParams, Phase::kAlways, w, file / w,
                        "parameter swap file (this rank's chunk of each bucket, whole 4 KiB blocks)"));
  out.push_back(item_at(Location::kCpu, Category::kSwapBuffers, Phase::kAlways, w,
                        plan.nvme_param_buffers * std::max({blocks_of(block), blocks_of(rest), blocks_of(persistent)}) / w,
                        "parameter swap buffers: buffer_count x the largest chunk"));
}

}  // namespace

std::int64_t ds_partial_offload_on_device(std::int64_t n, double ratio, std::int64_t sub_group_size) {
  if (n <= 0 || ratio >= 1.0) return 0;
  const std::int64_t group = std::max<std::int64_t>(1, std::min(sub_group_size, n));
  const std::int64_t groups = (n + group - 1) / group;
  // DeepSpeed's expression (stage3.py: int((1 - partial_offload) * num_subgroups)), its
  // floating-point rounding included: ratio 0.9 over 10 sub-groups keeps none.
  const auto kept = static_cast<std::int64_t>((1.0 - ratio) * static_cast<double>(groups));
  return std::min(n, kept * group);
}

double ds_partial_offload_kept(double n, const Plan& plan) {
  if (!plan.partial_offload()) return 0;
  return static_cast<double>(ds_partial_offload_on_device(std::llround(n), plan.offload_optimizer_ratio, plan.sub_group_size));
}

DsNvmeLayout ds_nvme_layout(double n, const Plan& plan) {
  DsNvmeLayout l;
  if (n <= 0) return l;
  l.sub_group = round_to_block(std::max(1.0, std::min(static_cast<double>(plan.sub_group_size), n)));
  l.sub_groups = std::ceil(n / l.sub_group);
  l.file_elements = (l.sub_groups - 1) * l.sub_group + round_to_block(n - (l.sub_groups - 1) * l.sub_group);
  // Two sets at least (the next sub-group is read while one is updated), no more than there are sub-groups.
  l.buffer_sets = std::min(l.sub_groups, std::max(2.0, std::floor(plan.nvme_optimizer_buffers / kDsSwappedStates)));
  return l;
}

std::vector<MemoryItem> ds_zero_model_states(std::int64_t params, const Plan& plan) {
  const double p = static_cast<double>(params);
  const double parts = plan.zero_partitions();
  const double w = dtype_bytes(plan.dtype);
  // Not sharded: the single-process optimizer (flat parameters and gradients, all whole).
  const bool partitioned = plan.ds_zero_sharded();
  const bool offload = plan.offload_optimizer != OffloadDevice::kNone;
  const bool nvme = plan.offload_optimizer == OffloadDevice::kNvme;
  // ZeRO-Offload: the fp32 master, gradient partition and optimizer states are host buffers;
  // with NVMe the states are swap files instead.
  const Location at = offload ? Location::kCpu : Location::kDevice;
  std::vector<MemoryItem> out;
  if (plan.zero_stage == 3 && partitioned) {
    // In fp32 the partition is the master itself (one tensor), unless either is offloaded;
    // offload_param cpu keeps it in host memory, nvme in a swap file (ds_zero_buffers, which
    // knows the chunks' sizes).
    const bool param_offload = plan.offload_param == OffloadDevice::kCpu;
    const bool swapped = plan.offload_param == OffloadDevice::kNvme;
    if (!swapped && (plan.dtype != DType::kFp32 || offload || param_offload)) {
      out.push_back(item_at(param_offload ? Location::kCpu : Location::kDevice, Category::kParams, Phase::kAlways, w,
                            p / parts, "parameter partition"));
    }
  } else {
    out.push_back(device_item(Category::kParams, Phase::kAlways, w, p, "parameters (flat)"));
  }
  // Partial offload keeps the partition's first sub-groups (master, states, gradients) on the device.
  const double kept = ds_partial_offload_kept(p / parts, plan);
  const double moved = p / parts - kept;
  auto split = [&](Category category, double bytes, double offloaded, const std::string& what) {
    const std::string on_device = what + " (kept on the device)";
    if (kept > 0) out.push_back(item_at(Location::kDevice, category, Phase::kAlways, bytes, kept, on_device.c_str()));
    if (offloaded > 0) out.push_back(item_at(at, category, Phase::kAlways, bytes, offloaded, what.c_str()));
  };
  split(Category::kMasterParams, 4, moved, "fp32 master partition");
  double optim = optimizer_state_bytes_per_param(plan);
  if (nvme && optim > 0) {
    const DsNvmeLayout l = ds_nvme_layout(moved, plan);
    if (kept > 0) split(Category::kOptimizerStates, optim, 0, "partition");
    out.push_back(item_at(Location::kNvme, Category::kOptimizerStates, Phase::kAlways, 4 * kDsSwappedStates,
                          l.file_elements, "swap files (exp_avg, exp_avg_sq; whole 4 KiB blocks per sub-group)"));
  } else if (optim > 0) {
    split(Category::kOptimizerStates, optim, moved, "partition");
  }
  if (plan.zero_stage == 1 || !partitioned) {
    // Stage 1 accumulates the whole gradient in the working dtype and reduces it in the step.
    out.push_back(device_item(Category::kGradients, Phase::kAlways, w, p, "gradients (flat)"));
  }
  split(Category::kGradAccumFp32, 4, moved, partitioned ? "fp32 gradient partition the buckets reduce into" : "fp32 gradients");
  return out;
}

std::vector<MemoryItem> ds_zero_buffers(const ParamCount& count, std::int64_t layers, std::int64_t params,
                                        const Plan& plan, bool cpu_device) {
  const double p = static_cast<double>(params);
  const int parts = plan.zero_partitions();
  const double w = dtype_bytes(plan.dtype);
  std::vector<MemoryItem> out;
  if (plan.offload_optimizer == OffloadDevice::kNvme) {
    const DsNvmeLayout l = ds_nvme_layout(p / parts - ds_partial_offload_kept(p / parts, plan), plan);
    out.push_back(item_at(Location::kCpu, Category::kSwapBuffers, Phase::kAlways, 4 * kDsSwappedStates,
                          l.buffer_sets * l.sub_group, "swap buffers: sets x sub-group (exp_avg, exp_avg_sq)"));
  }
  if (!plan.ds_zero_sharded()) {
    // Offload on one rank: the step adds the 16-bit gradients into the host fp32 ones, through
    // an fp32 cast LibTorch's CPU kernels make first (on a GPU the copy to the host is the cast).
    if (cpu_device && plan.dtype != DType::kFp32) {
      out.push_back(device_item(Category::kStepTemporaries, Phase::kOptimizerStep, 4, p,
                                "fp32 cast of the 16-bit gradients added into the host fp32 gradients"));
    }
    return out;
  }
  // Stage 3: one bucket per block and one for the rest (embeddings, final norm, lm_head), which
  // stays gathered from the start of forward until its gradients are reduced at the end of
  // backward, and one of the persistent parameters (stage3_param_persistence_threshold), always
  // gathered; stages 1-2: buckets of reduce_bucket_size elements.
  PersistentParams kept;
  if (plan.zero_stage == 3) kept = persistent_params(count, plan.stage3_param_persistence_threshold);
  const double block = static_cast<double>(count.per_layer - kept.per_layer);
  const double rest = std::max(0.0, p - static_cast<double>(count.per_layer * layers) - static_cast<double>(kept.other));
  const double persistent = static_cast<double>(kept.per_layer * layers + kept.other);
  const double n = plan.zero_stage == 3 ? std::max(block, rest) : std::min(static_cast<double>(plan.reduce_bucket_size), p);
  const double buckets = plan.zero_stage == 3 ? (block > 0 ? static_cast<double>(layers) : 0.0) + (rest > 0 ? 1.0 : 0.0)
                                              : std::ceil(p / std::max(1.0, n));
  if (plan.zero_stage == 1) {
    // The step reduces bucket by bucket, then all-gathers the updated parameters: one at a time.
    const double reduce = 4 * n + (cpu_device ? 4 * (n + 2 * n / parts) : 4 * n / parts);
    const double gather = w * (n + n / parts);
    if (reduce >= gather) {
      out.push_back(device_item(Category::kCommBuckets, Phase::kOptimizerStep, 4, n, "fp32 reduce bucket"));
      add_reduce_scatter(n, parts, Phase::kOptimizerStep, cpu_device, /*in_flight=*/false, out);
    } else {
      out.push_back(device_item(Category::kCommBuckets, Phase::kOptimizerStep, w, n + n / parts,
                                "all-gather bucket and this rank's piece"));
    }
    return out;
  }
  // Stages 2-3: each bucket is staged in fp32 as backward fills it; with overlap_comm the next one
  // fills while one is reduced (one in flight at a time).
  if (buckets == 0) {
    // Stage 3 with every parameter persistent: only the persistent bucket below.
  } else if (buckets > 1) {
    // Buckets fill and are reduced as the blocks run backward (the loss has freed the logits).
    // With overlap_comm the fullest moment is a block's backward beside the previous bucket's
    // reduce-scatter in flight; without, a bucket's reduce-scatter runs when it fills.
    const bool overlap = plan.overlap_comm_enabled();
    out.push_back(device_item(Category::kCommBuckets, Phase::kBlockBackward, 4, (overlap ? 2 : 1) * n,
                              overlap ? "fp32 reduce buckets x 2 (overlap_comm)" : "fp32 reduce bucket"));
    add_reduce_scatter(n, parts, Phase::kBlockBackward, cpu_device, overlap, out);
  } else {
    // One bucket: allocated with the first gradient (after the loss), reduced only when backward
    // has ended and freed the activations.
    out.push_back(device_item(Category::kCommBuckets, Phase::kBlockBackward, 4, n, "fp32 reduce bucket"));
    out.push_back(device_item(Category::kCommBuckets, Phase::kBackwardEnd, 4, n, "fp32 reduce bucket"));
    add_reduce_scatter(n, parts, Phase::kBackwardEnd, cpu_device, /*in_flight=*/false, out);
  }
  if (plan.zero_stage == 2) {
    out.push_back(device_item(Category::kCommBuckets, Phase::kOptimizerStep, w, n + n / parts,
                              "all-gather bucket and this rank's piece"));
  } else {
    if (plan.offload_param == OffloadDevice::kNvme) add_param_swap(block, rest, persistent, layers, plan, out);
    // While a block runs the next one's bucket is all-gathered ahead when it fits the prefetch
    // limits (engine/zero: not with parameters on NVMe, which are read ahead instead).
    const bool prefetch = layers > 1 && block > 0 && plan.offload_param != OffloadDevice::kNvme &&
                          plan.stage3_prefetch_bucket_size > 0 && block <= plan.stage3_prefetch_bucket_size &&
                          rest + 2 * block + persistent <= plan.stage3_max_live_parameters;
    out.push_back(device_item(Category::kGatheredParams, Phase::kForwardBackward, w, rest + (prefetch ? 2 : 1) * block,
                              prefetch ? "gathered: the non-block parameters, one block and the next (prefetch)"
                                       : "gathered: the non-block parameters and one block"));
    if (persistent > 0) {
      // Whole on every rank; their gradients are staged from the first (early in backward) to
      // the last (the first block's), then reduced once backward has ended.
      out.push_back(device_item(Category::kGatheredParams, Phase::kAlways, w, persistent,
                                "persistent parameters, whole on every rank (stage3_param_persistence_threshold)"));
      out.push_back(device_item(Category::kCommBuckets, Phase::kBlockBackward, 4, persistent,
                                "fp32 bucket of the persistent parameters' gradients"));
      out.push_back(device_item(Category::kCommBuckets, Phase::kBackwardEnd, 4, persistent,
                                "fp32 bucket of the persistent parameters' gradients"));
      add_reduce_scatter(persistent, parts, Phase::kBackwardEnd, cpu_device, /*in_flight=*/false, out);
    }
  }
  return out;
}

}  // namespace ds::estimators
