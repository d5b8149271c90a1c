#pragma once
// MemoryEstimate: the whole peak memory of one training plan, as bytes by named category on the
// device (per GPU, or per rank on a CPU run), in each node's CPU memory and on each node's NVMe.
// The categories are the ones the engine measures, so predicted and measured peaks can be
// compared row by row (issue 4's validation; the engine records the same names).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "estimators/param_count.hpp"
#include "estimators/plan.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::estimators {

/// Where bytes live.
enum class Location { kDevice, kCpu, kNvme };

/// When the bytes are live. The peak is kAlways + the largest of
///   kForwardBackward                     (the fullest moment of forward/backward: the loss with
///                                        its logits, a block's backward, or the end),
///   kForwardBackward without activations
///     and logits + kBlockBackward        (a block runs backward: kBlockBackward holds that
///                                        moment's activations and the gradient buckets filling),
///   kBackwardEnd                         (the last bucket is reduced after backward has freed
///                                        the activations),
///   kOptimizerStep                       (after the buckets are freed too).
enum class Phase { kAlways, kForwardBackward, kBlockBackward, kBackwardEnd, kOptimizerStep };

/// The categories of a MemoryEstimate. The engine's measured peaks use the same names.
enum class Category {
  kParams,            ///< "params": working parameters (16-bit, or fp32 when training in fp32)
  kMasterParams,      ///< "master_params": fp32 master copy of mixed-precision training
  kGradients,         ///< "gradients": working-precision gradients
  kGradAccumFp32,     ///< "grad_accum_fp32": fp32 gradient accumulation / fp32 gradient partition
  kOptimizerStates,   ///< "optimizer_states": Adam m and v, SGD momentum
  kActivations,       ///< "activations": saved for backward, plus the recompute workspace
  kLogitsAndLoss,     ///< "logits_and_loss": output logits and the fp32 loss terms
  kCommBuckets,       ///< "comm_buckets": gradient reduce buckets, parameter all-gather buckets
  kGatheredParams,    ///< "gathered_params": ZeRO-3 parameters gathered for compute
  kStepTemporaries,   ///< "optimizer_step_temp": fp32 gradient copy made for the optimizer step
  kSwapBuffers,       ///< "swap_buffers": pinned host buffers staging NVMe offload
  kRuntime,           ///< "runtime": CUDA context or process baseline, collective library buffers
  kFragmentation,     ///< "fragmentation": allocator rounding and fragmentation
};

std::string_view category_name(Category c);
std::string_view location_name(Location l);  ///< "device" | "cpu" | "nvme"
std::string_view phase_name(Phase p);        ///< "always" | "forward_backward" | "optimizer_step"

/// One term of the estimate. Device bytes are per device; CPU and NVMe bytes per node.
struct MemoryItem {
  Category category;
  Location location;
  Phase phase;
  double bytes = 0;
  std::string detail;  ///< how it was computed, e.g. "2 B x 6.74e9 params / 8 partitions"
};

/// The estimate for one plan.
struct MemoryEstimate {
  std::vector<MemoryItem> items;
  double device_peak_bytes = 0;        ///< per device
  double cpu_peak_bytes_per_node = 0;  ///< host RAM per node
  double nvme_bytes_per_node = 0;      ///< NVMe per node
  int ranks_per_node = 1;

  /// Bytes of one category at one location (summed over phases).
  double bytes(Category c, Location l) const;
  /// Sum of every item at a location (an upper bound of the peak).
  double total(Location l) const;
};

/// The peak of live tensor bytes at `where`: the peak without the runtime baseline and the
/// allocator's fragmentation, i.e. what the engine's counting allocator measures on a CPU run.
double tensor_peak_bytes(const MemoryEstimate& estimate, Location where = Location::kDevice);

/// Whether an estimate fits the cluster, and by how much.
struct FitCheck {
  bool fits = false;
  double device_headroom_bytes = 0;  ///< device memory minus device peak (negative: over)
  double cpu_headroom_bytes = 0;     ///< per node
  double nvme_headroom_bytes = 0;    ///< per node
  std::string limit;                 ///< the first exceeded: "device", "cpu", "nvme"; empty when it fits
};

/// Estimates `plan` for `model` on `cluster`. `count` must be count_params(model); it is passed in
/// so sweeps count once. The plan is not validated here (see validate_plan).
MemoryEstimate estimate_memory(const ModelSpec& model, const ParamCount& count, const profiles::ClusterSpec& cluster,
                               const Plan& plan);

/// Convenience: counts the parameters, validates the plan against the cluster's world size
/// (UsageError listing the problems) and estimates.
MemoryEstimate estimate_memory(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& plan);

/// On a GPU cluster the device peak must fit device memory and the CPU peak the node's RAM; on a
/// CPU cluster the ranks' device peaks and the CPU items share the node's RAM.
FitCheck check_fit(const MemoryEstimate& estimate, const profiles::ClusterSpec& cluster);

/// The largest micro-batch (sequences per device) with which `plan` still fits, 0 if not even one.
std::int64_t largest_micro_batch(const ModelSpec& model, const ParamCount& count, const profiles::ClusterSpec& cluster,
                                 Plan plan);

}  // namespace ds::estimators
