#include "estimators/buffer_memory.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "estimators/ds_zero_memory.hpp"

namespace ds::estimators {
namespace {

std::string elements(double n, double bytes_each, const char* what) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.4g elements x %g B %s", n, bytes_each, what);
  return buf;
}

// Gradient buckets: DeepSpeed reduces gradients in buckets of reduce_bucket_size elements in the
// working precision (stage 0: allreduce buckets; 1/2: the contiguous "ipg" buffer; 3: the
// reduce-scatter bucket); with overlap_comm a second bucket fills while the first is reduced,
// which needs a second bucket to exist: a model smaller than one bucket has one buffer either way.
// Needed only when gradients leave the rank: more than one partition, or offload to the CPU.
// Without ZeRO, ds's engine all-reduces its flat gradient buffer in place (as DDP does with
// gradient_as_bucket_view), so stage 0 has no bucket.
void add_reduce_buckets(double p, const Plan& plan, std::vector<MemoryItem>& out) {
  if (plan.zero_partitions() <= 1 && plan.offload_optimizer == OffloadDevice::kNone) return;
  if (plan.zero_stage == 0) return;
  double n = std::min(static_cast<double>(plan.reduce_bucket_size), p);
  int copies = plan.overlap_comm_enabled() && p > n ? 2 : 1;
  double w = dtype_bytes(plan.dtype);
  out.push_back({Category::kCommBuckets, Location::kDevice, Phase::kForwardBackward, n * w * copies,
                 elements(n, w, copies == 2 ? "x 2 (overlap_comm) reduce buckets" : "reduce bucket")});
}

// Stage 1/2 all-gather the updated 16-bit partitions after the step in allgather_bucket_size
// pieces; counted as one bucket-sized staging copy.
void add_allgather_bucket(double p, const Plan& plan, std::vector<MemoryItem>& out) {
  if (plan.zero_stage < 1 || plan.zero_stage > 2 || plan.zero_partitions() <= 1) return;
  double n = std::min(static_cast<double>(plan.allgather_bucket_size), p);
  double w = dtype_bytes(plan.dtype);
  out.push_back({Category::kCommBuckets, Location::kDevice, Phase::kOptimizerStep, n * w,
                 elements(n, w, "all-gather bucket")});
}

// Stage 3 gathers each module's full parameters just before it runs: the module in use (at most
// the largest module), plus stage3_prefetch_bucket_size elements fetched ahead, capped by
// stage3_max_live_parameters; tensors under stage3_param_persistence_threshold stay gathered.
void add_gathered_params(const ParamCount& count, double p, const Plan& plan, std::vector<MemoryItem>& out) {
  if (plan.zero_stage != 3) return;
  double largest = static_cast<double>(count.largest_module);
  double ahead = std::min(static_cast<double>(plan.stage3_max_live_parameters),
                          largest + static_cast<double>(plan.stage3_prefetch_bucket_size));
  double persistent = static_cast<double>(small_tensor_params(count, plan.stage3_param_persistence_threshold));
  double n = std::min(p, std::max(largest, ahead) + persistent);
  double w = dtype_bytes(plan.dtype);
  out.push_back({Category::kGatheredParams, Location::kDevice, Phase::kForwardBackward, n * w,
                 elements(n, w, "gathered (module + prefetch + persistent)")});
}

// Mixed precision without fp32 gradient accumulation: the step makes an fp32 copy of this rank's
// gradient partition (DeepSpeed stage 1/2 single_grad_partition; FP16_Optimizer's master grads).
void add_step_temporaries(double p, const Plan& plan, std::vector<MemoryItem>& out) {
  bool mixed = plan.dtype != DType::kFp32;
  if (!mixed || plan.offload_optimizer != OffloadDevice::kNone || plan.fp32_grad_accumulation_enabled()) return;
  double n = p / (plan.zero_stage >= 1 ? plan.zero_partitions() : 1);
  out.push_back({Category::kStepTemporaries, Location::kDevice, Phase::kOptimizerStep, 4 * n,
                 elements(n, 4, "fp32 gradient partition for the step")});
}

// Mixed precision accumulating in fp32 on a CPU: ds's engine adds the 16-bit gradients into the
// fp32 buffer, and LibTorch's CPU kernels cast the 16-bit operand to a temporary fp32 copy first
// (CUDA kernels cast on the fly and make none).
void add_accumulation_cast(double p, const Plan& plan, bool cpu_device, std::vector<MemoryItem>& out) {
  bool mixed = plan.dtype != DType::kFp32;
  if (!cpu_device || !mixed || plan.offload_optimizer != OffloadDevice::kNone || !plan.fp32_grad_accumulation_enabled()) {
    return;
  }
  double n = p / (plan.zero_stage >= 2 ? plan.zero_partitions() : 1);
  out.push_back({Category::kStepTemporaries, Location::kDevice, Phase::kOptimizerStep, 4 * n,
                 elements(n, 4, "fp32 cast of the 16-bit gradients added into the fp32 accumulation")});
}

// ds's optimizer updates the flat fp32 partition in chunks of kOptimizerChunk elements through
// two fp32 scratch chunks it keeps from the first step on, so they are live in every later
// forward and backward (engine/train/optimizer.cpp).
void add_optimizer_scratch(double p, const Plan& plan, std::vector<MemoryItem>& out) {
  double n = std::min(kOptimizerChunk, p / (plan.zero_stage >= 1 ? plan.zero_partitions() : 1));
  Location at = plan.offload_optimizer == OffloadDevice::kNone ? Location::kDevice : Location::kCpu;
  out.push_back({Category::kStepTemporaries, at, Phase::kAlways, 2 * n * 4, elements(2 * n, 4, "optimizer scratch chunks")});
}

// ZeRO-Infinity stages NVMe traffic through pinned host buffers: buffer_count sub-groups of fp32
// optimizer state, and buffer_count parameter buffers of buffer_size elements.
void add_swap_buffers(const ParamCount& count, double p, const Plan& plan, std::vector<MemoryItem>& out) {
  if (plan.offload_optimizer == OffloadDevice::kNvme) {
    double n = std::min(static_cast<double>(plan.sub_group_size), p / plan.zero_partitions());
    double buffers = plan.nvme_optimizer_buffers;
    out.push_back({Category::kSwapBuffers, Location::kCpu, Phase::kAlways, buffers * n * 4,
                   elements(buffers * n, 4, "optimizer swap buffers")});
  }
  if (plan.offload_param == OffloadDevice::kNvme && plan.zero_stage == 3) {
    double n = std::max(static_cast<double>(plan.nvme_param_buffer_size), static_cast<double>(count.largest_module));
    double w = dtype_bytes(plan.dtype);
    double buffers = plan.nvme_param_buffers;
    out.push_back({Category::kSwapBuffers, Location::kCpu, Phase::kAlways, buffers * n * w,
                   elements(buffers * n, w, "parameter swap buffers")});
  }
}

}  // namespace

std::vector<MemoryItem> buffer_memory(const ParamCount& count, std::int64_t params, const Plan& plan, bool cpu_device) {
  std::vector<MemoryItem> out;
  const double p = static_cast<double>(params);
  if (plan.ds_zero_optimizer()) {
    // ds's ZeRO optimizer has buffers of its own (ds_zero_buffers); the scratch chunks are shared,
    // except that offloaded Adam runs the CPU kernel, which keeps none.
    if (plan.offload_optimizer == OffloadDevice::kNone || plan.optimizer == OptimizerKind::kSgd) {
      add_optimizer_scratch(p, plan, out);
    }
    // Partial offload: the sub-groups kept on the device have an optimizer of their own there.
    const double kept = ds_partial_offload_kept(p / plan.zero_partitions(), plan);
    if (kept > 0) {
      const double n = std::min(kOptimizerChunk, kept);
      out.push_back({Category::kStepTemporaries, Location::kDevice, Phase::kAlways, 2 * n * 4,
                     elements(2 * n, 4, "optimizer scratch chunks (the sub-groups kept on the device)")});
    }
    return out;
  }
  add_reduce_buckets(p, plan, out);
  add_allgather_bucket(p, plan, out);
  add_gathered_params(count, p, plan, out);
  add_step_temporaries(p, plan, out);
  add_accumulation_cast(p, plan, cpu_device, out);
  add_optimizer_scratch(p, plan, out);
  add_swap_buffers(count, p, plan, out);
  return out;
}

}  // namespace ds::estimators
