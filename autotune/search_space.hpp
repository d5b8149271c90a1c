#pragma once
// The search space of `ds tune`: every Plan the tuner may rank for one model on one cluster --
// ZeRO stage x optimizer offload x parameter offload x micro-batch x gradient accumulation x
// dp.tp.pp layout x activation checkpointing x dtype x bucket size. Plans are produced one at a
// time (an odometer over the axes), so a space of millions of plans never sits in memory.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "estimators/model_spec.hpp"
#include "estimators/plan.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::autotune {

/// One dp x tp x pp x sp factorization of the cluster's ranks.
struct Layout {
  int dp = 1;
  int tp = 1;
  int pp = 1;
  int sp = 1;  ///< DeepSpeed-Ulysses sequence parallelism
  bool operator==(const Layout&) const = default;
};

/// The axes of the search. Each list is searched in full; empty lists are refused.
struct SearchSpaceOptions {
  std::vector<int> stages = {0, 1, 2, 3};  ///< ZeRO stages
  std::vector<estimators::OffloadDevice> offload_optimizer = {  ///< nvme only at stage 3 (DeepSpeed)
      estimators::OffloadDevice::kNone, estimators::OffloadDevice::kCpu, estimators::OffloadDevice::kNvme};
  std::vector<estimators::OffloadDevice> offload_param = {  ///< stage 3 only
      estimators::OffloadDevice::kNone, estimators::OffloadDevice::kCpu, estimators::OffloadDevice::kNvme};
  std::vector<std::int64_t> micro_batches = {1, 2, 4, 8, 16};  ///< sequences per device per forward
  /// Sequences per optimizer step over the whole job; 0: use `grad_accums` instead. With a
  /// target, grad_accum = global_batch / (micro_batch * dp) and plans where that is not a whole
  /// number are skipped (counted as "global batch").
  std::int64_t global_batch = 0;
  std::vector<std::int64_t> grad_accums = {1};  ///< micro-batches per step when global_batch is 0
  std::vector<estimators::Checkpointing> checkpointing = {
      estimators::Checkpointing::kNone, estimators::Checkpointing::kSelective, estimators::Checkpointing::kFull};
  std::vector<estimators::DType> dtypes = {estimators::DType::kBf16};
  /// reduce_bucket_size = allgather_bucket_size, elements; stage 3 prefetches a tenth of it.
  std::vector<std::int64_t> bucket_sizes = {50'000'000, 200'000'000, 500'000'000};
  int max_tp = 0;  ///< 0: up to the GPUs of one node
  int max_pp = 0;  ///< 0: up to the model's layers
  int max_sp = 1;  ///< Ulysses degree up to this (1: not searched; 0: up to the GPUs of a node)
  std::int64_t seq_len = 2048;  ///< tokens per sequence (not searched)
  estimators::OptimizerKind optimizer = estimators::OptimizerKind::kAdamW;
  bool fused_attention = true;  ///< false on a CPU cluster (the engine materialises the scores there)
  /// Whose engine runs the plans: ds's recomputes every block at sharded ZeRO-3, so those plans
  /// take checkpointing full only (the other values are counted as `engine_recompute`).
  estimators::Engine engine = estimators::Engine::kDeepSpeed;
};

/// The dp.tp.pp.sp factorizations of `world` ranks allowed for `model`: tp divides the GPUs of a
/// node (tensor parallelism stays inside NVLink), tp divides heads, kv-heads and the MLP width
/// (Megatron splits whole heads and MLP columns), pp divides the layers. sp (Ulysses, from
/// `max_sp` > 1) keeps its all-to-alls inside a node too (tp x sp divides the GPUs of a node),
/// hands every rank whole heads and kv-heads (tp x sp divides both), divides `seq_len` and is not
/// combined with pp. Ordered by tp, then sp, then pp.
std::vector<Layout> parallel_layouts(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                                     int max_tp = 0, int max_pp = 0, int max_sp = 1, std::int64_t seq_len = 0);

/// Why a combination of axis values is not a plan (counted, never ranked).
struct SkipCounts {
  std::int64_t zero_offload = 0;     ///< offload the stage does not support (offload_param below 3, ...)
  std::int64_t pipeline_zero = 0;    ///< pp > 1 with ZeRO 2/3 (DeepSpeed's pipeline engine refuses it)
  std::int64_t global_batch = 0;     ///< global_batch not a multiple of micro_batch * dp
  std::int64_t engine_recompute = 0;  ///< a second checkpointing value where ds's engine recomputes anyway
  std::int64_t total() const { return zero_offload + pipeline_zero + global_batch + engine_recompute; }
};

/// The lazily enumerated plans of one model on one cluster.
class SearchSpace {
 public:
  /// Throws UsageError naming the axis (e.g. "--micro-batch") when a list is empty or a value
  /// out of range, and when no layout fits the model (naming heads/layers and the GPU count).
  SearchSpace(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, SearchSpaceOptions options);

  /// Axis combinations before any rule: the product of the axis sizes.
  std::int64_t raw_size() const;
  const std::vector<Layout>& layouts() const { return layouts_; }
  const SearchSpaceOptions& options() const { return options_; }

  /// Calls `visit(plan)` for every valid plan in a fixed order; counts the rest in `skipped`.
  /// performance-critical: the tuner ranks 10^5 plans a second through this loop.
  void for_each(const std::function<void(const estimators::Plan&)>& visit, SkipCounts* skipped = nullptr) const;

  /// Number of valid plans (runs the enumeration without visiting).
  std::int64_t count(SkipCounts* skipped = nullptr) const;

 private:
  estimators::Plan base_;
  SearchSpaceOptions options_;
  std::vector<Layout> layouts_;
};

}  // namespace ds::autotune
