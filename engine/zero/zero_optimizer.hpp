#pragma once
// ZeRO stages 1 and 2 (Rajbhandari et al. 2020) over a c10d process group: each rank keeps the
// fp32 master weights and the optimizer states of its partition only (ZeroLayout), and at stage 2
// also only its partition of the gradients.
//
//  stage 1: gradients accumulate over the micro-batches in the model-dtype flat buffer (whole
//           model on every rank); at the step each bucket is reduce-scattered into the rank's
//           fp32 gradient partition.
//  stage 2: no whole gradient buffer. A hook on every parameter's gradient accumulator copies the
//           gradient into its bucket's fp32 staging buffer and frees it; when a bucket has all
//           its gradients it is reduce-scattered at once (overlapping the rest of backward), and
//           the rank adds its chunk into the fp32 gradient partition.
//  stage 3: as stage 2, and the model-dtype parameters are partitioned too: a rank keeps only
//           its chunk of each bucket (one bucket per transformer block, one for the rest) and
//           the model's parameter tensors are empty between uses. Through model::BlockHooks a
//           block's bucket is all-gathered just before the block runs and dropped after; its
//           backward recomputes the block (activation checkpointing is implied) with the bucket
//           gathered again, and it is dropped once all its gradients have been reduce-scattered.
//           Small parameters (stage3_param_persistence_threshold) can be one more bucket
//           that stays gathered between steps. With ZeroOptions::initial_values the model is
//           never whole on any rank: its parameters are placeholders and each rank keeps its
//           pieces of the initial values as they are drawn (DeepSpeed's zero.Init). While a
//           block runs, the next block's all-gather runs in the background within
//           stage3_prefetch_bucket_size / stage3_max_live_parameters; with offload_param nvme
//           the next chunk is read ahead from the swap file instead (offload::SwappedParams).
// ZeRO-Offload puts the fp32 partitions in the offload tier and steps them with CPU Adam; with a
// partial offload (stage 3, offload_ratio < 1) the partition's first sub-groups stay on the device
// (TieredPartition) with a second optimizer of their own.
// Then, on every rank: average over ranks, unscale (fp16), global norm (partial sums of squares
// all-reduced, so every rank sees the same norm and the same overflow verdict), clip, update the
// master partition, and all-gather the updated partitions bucket by bucket into the model's
// parameters (in the model dtype). The result is the single-process update up to the order of
// floating-point sums.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/checkpoint/zero_fragments.hpp"
#include "engine/model/causal_lm.hpp"
#include "engine/model/init.hpp"
#include "engine/offload/swapped_params.hpp"
#include "engine/offload/swapped_states.hpp"
#include "engine/train/flat_params.hpp"
#include "engine/train/loss_scaler.hpp"
#include "engine/train/mixed_precision.hpp"
#include "engine/train/optimizer.hpp"
#include "engine/zero/tiered_partition.hpp"
#include "engine/zero/zero_layout.hpp"

#include "engine/comm/process_group.hpp"

namespace torch::autograd {
struct Node;
}

namespace ds::engine::zero {

struct ZeroOptions {
  int stage = 1;                             ///< 1 or 2
  std::int64_t reduce_bucket_size = 500'000'000;  ///< elements per bucket (zero_optimization.reduce_bucket_size)
  /// Stage 2: start each bucket's reduce-scatter without waiting for it, so communication runs
  /// (on the backend's threads) while backward goes on; one bucket is in flight at a time (the
  /// next one's issue waits for it), so this costs a second staging buffer and its receive
  /// buffer (zero_optimization.overlap_comm).
  bool overlap_comm = false;
  /// Stage 3: the buckets as parameter counts in the order of the parameters given (the model's
  /// non-block parameters first, then one bucket per transformer block; a count may be 0). Empty:
  /// buckets of reduce_bucket_size elements.
  std::vector<std::size_t> bucket_slots;
  /// Stage 3: the last bucket_slots entry holds the persistent parameters
  /// (stage3_param_persistence_threshold): partitioned for the optimizer like stage 2's, but kept
  /// gathered on every rank from one step to the next instead of fetched per block.
  bool persistent_bucket = false;
  /// ZeRO-Offload (offload_optimizer.device cpu): the fp32 master and gradient partitions and the
  /// optimizer states live in the offload tier (offload::HostTier); each reduced chunk is added
  /// into the host gradient partition as it arrives, the CPU Adam kernel steps, and the updated
  /// partition goes back to the device in the model dtype.
  bool offload_optimizer = false;
  /// With offload_optimizer: Adam's states in NVMe swap files (offload_optimizer.device nvme).
  std::optional<offload::NvmeOptions> nvme;
  /// With offload_optimizer at stage 3: the fraction of the partition's sub-groups (of
  /// sub_group_size elements) offloaded, offload_optimizer.ratio. Below 1 the first sub-groups
  /// (estimators::ds_partial_offload_on_device) stay on the device with an optimizer of their own,
  /// as in DeepSpeed's partial offload.
  double offload_ratio = 1.0;
  /// Stage 3, partitioned construction (DeepSpeed's zero.Init): the parameters given are
  /// placeholders (model::PlaceholderParameters) and this calls back with each one's initial
  /// value, of which the rank keeps the pieces it owns, so no rank ever holds the whole model.
  /// Unset: the parameters' own values.
  std::function<void(const model::InitialValueFn&)> initial_values;
  std::int64_t sub_group_size = 1'000'000'000;  ///< zero_optimization.sub_group_size
  /// Stage 3 (offload_param.device cpu): this rank's parameter chunks live in host memory
  /// (offload::HostTier) and each bucket is all-gathered from there onto the device when needed.
  bool offload_param = false;
  /// With offload_param: the chunks in an NVMe swap file instead (offload_param.device nvme),
  /// read through buffer_count host buffers of at most param_buffer_size elements; the chunk of
  /// the bucket needed next (forward: the next block, backward: the one before) is read ahead.
  std::optional<offload::NvmeOptions> param_nvme;
  std::int64_t param_buffer_size = 100'000'000;  ///< offload_param.buffer_size
  /// Stage 3: while a block runs, the next block's bucket (forward: the one after; backward's
  /// recomputation: the one before) is all-gathered in the background when it has at most this
  /// many elements (stage3_prefetch_bucket_size; 0: no prefetch) and the gathered buckets,
  /// it included, stay within max_live_parameters elements (stage3_max_live_parameters). Not
  /// with offload_param nvme, whose chunks are read ahead from the swap file instead.
  std::int64_t prefetch_bucket_size = 0;
  std::int64_t max_live_parameters = 1'000'000'000;
};

class ZeroOptimizer : public model::BlockHooks {
 public:
  /// Takes over `params` (the model's named parameters; the same on every rank, e.g. built from
  /// the same seed): converts them to the precision's dtype in place and keeps this rank's
  /// fp32 partition as the master (from zero.initial_values when set). Throws UsageError for a
  /// stage other than 1 to 3.
  ZeroOptimizer(const std::vector<train::NamedTensor>& params, const train::OptimizerOptions& optimizer,
                const train::MixedPrecisionOptions& options, comm::Communicator& comm, const ZeroOptions& zero);
  ~ZeroOptimizer();
  ZeroOptimizer(const ZeroOptimizer&) = delete;
  ZeroOptimizer& operator=(const ZeroOptimizer&) = delete;

  double loss_scale() const { return scaler_.loss_scale(); }
  train::Precision precision() const { return options_.precision; }
  /// The optimizer of the offloaded part of the partition (of all of it without partial offload).
  train::Optimizer& optimizer() { return optimizer_; }
  /// Adam's betas for every optimizer of the partition (OneCycle's cycle_momentum).
  void set_betas(double beta1, double beta2);
  train::LossScaler& loss_scaler() { return scaler_; }
  const ZeroLayout& layout() const { return layout_; }
  int stage() const { return zero_.stage; }

  /// After each micro-batch's backward: stage 2 reduces the buckets that are still open
  /// (parameters that got no gradient count as zero). Stage 1: nothing to do.
  void accumulate_grads();
  /// Reduce (stage 1), average, unscale, check overflow, clip, update and all-gather.
  train::StepResult step(double lr);

  /// The model's parameters in the model dtype, whole, by name. Stage 3 gathers them bucket by
  /// bucket into host memory (a collective: every rank must call it); with `keep` false the rank
  /// only takes part and holds nothing (a rank that does not write them: no whole copy there).
  std::vector<train::NamedTensor> model_state(bool keep = true);

  // Stage 3's model::BlockHooks (no-ops at stages 1-2): the non-block parameters are gathered
  // for the whole forward/backward, each block's just before it runs (forward, and backward's
  // recomputation), and dropped again after.
  void begin_forward() override;
  void before_block(std::int64_t index) override;
  torch::Tensor after_block(std::int64_t index, torch::Tensor output) override;
  void end_forward() override;
  /// Stage 3 with offload_param nvme: the swapped chunks (for tests), else null.
  const offload::SwappedParams* swapped_params() const { return swapped_params_.get(); }
  /// Stage 3: buckets found already gathered by a prefetch when they were needed (for tests).
  std::int64_t prefetch_hits() const { return prefetch_hits_; }

  std::vector<checkpoint::Fragment> state_fragments() const;
  /// {"precision", "optimizer": Optimizer::state_meta(), "zero": {"stage", "world_size"},
  /// "params": [{"name", "shape"}, ...]}.
  nlohmann::json optimizer_state_meta() const;
  /// Fills this rank's partition from `read(kind, param, offset, dest)` (which copies elements
  /// [offset, offset + dest.numel()) of that parameter's state into dest) and the optimizer's
  /// step counters from `meta`, then rebuilds the model's parameters from the masters. Works for
  /// checkpoints of any world size and stage. `has(kind)` tells which states the checkpoint holds.
  using StateReader = std::function<void(const std::string& kind, const std::string& param, std::int64_t offset,
                                         torch::Tensor dest)>;
  void load_state(const nlohmann::json& meta, const StateReader& read, const std::function<bool(const std::string&)>& has,
                  const std::string& where);

 private:
  struct GradHook;
  void on_gradient(std::size_t slot);
  void reduce_bucket(std::size_t b, const torch::Tensor& padded);
  void flush_open_buckets();
  void gather_parameters();
  void gather_bucket(std::size_t b);   ///< stage 3: fetch bucket b's parameters from every rank
  void release_bucket(std::size_t b);  ///< stage 3: drop them (keep only this rank's chunk)
  torch::Tensor owned_chunk(std::size_t b);  ///< stage 3: this rank's chunk of bucket b (model dtype)
  void store_owned();                        ///< stage 3: the master's values into the owned chunks
  /// The master's initial values: this rank's pieces of `tensors`, or of zero_.initial_values.
  void fill_master(const std::vector<torch::Tensor>& tensors);
  std::vector<std::string> state_kinds() const;

  train::MixedPrecisionOptions options_;
  ZeroOptions zero_;
  comm::Communicator& comm_;
  int rank_ = 0;
  torch::Device device_ = torch::kCPU;  ///< the compute device (the model's parameters)
  train::Optimizer optimizer_;
  train::LossScaler scaler_;
  std::unique_ptr<train::FlatParams> flat_;  ///< stages 1-2: the whole model-dtype parameters
  std::vector<torch::Tensor> params_;          ///< the model's parameters, in layout order
  torch::Tensor owned16_;                      ///< stage 3: this rank's chunks in the model dtype (host with offload_param)
  std::unique_ptr<offload::SwappedParams> swapped_params_;  ///< stage 3, offload_param nvme: instead of owned16_
  std::int64_t last_gathered_ = -1;            ///< stage 3: tells forward (rising) from backward order
  torch::TensorOptions param_options_;         ///< the model's parameters: model dtype, compute device
  std::vector<torch::Tensor> gathered_;        ///< stage 3: a bucket's whole buffer while it is fetched
  /// Stage 3: the bucket of each bucket_slots group (the rest, the blocks, the persistent ones),
  /// -1 for an empty group.
  std::vector<std::int64_t> group_bucket_;
  std::int64_t persistent_ = -1;               ///< stage 3: the persistent parameters' bucket, or -1
  void gather_group(std::size_t group);        ///< stage 3: gather_bucket of a group, if it has one
  /// Stage 3: a bucket's all-gather running in the background (ZeroOptions::prefetch_bucket_size).
  struct Prefetch {
    std::size_t bucket = 0;
    torch::Tensor whole, chunk;  ///< kept alive until the collective is done
    comm::CommWork work;
  };
  std::optional<Prefetch> prefetch_;
  std::int64_t prefetch_hits_ = 0;
  void maybe_prefetch(std::int64_t next);  ///< starts next's all-gather if the limits allow
  void drop_prefetch();                    ///< waits for a prefetch nobody asked for and drops it
  void gather_persistent();                    ///< stage 3: (re)fetch the persistent bucket after an update
  ZeroLayout layout_;
  TieredPartition master_;  ///< fp32 partition (host tier when offloaded, but for partial offload's first sub-groups)
  TieredPartition grad32_;  ///< fp32 gradient partition, in the master's tiers
  std::unique_ptr<train::Optimizer> device_optimizer_;  ///< partial offload: the device's sub-groups
  /// The part of `partition` the main optimizer_ updates: the offloaded one, or all of it.
  const torch::Tensor& main_part(const TieredPartition& partition) const;
  // stage 2: gradients staged per bucket until the bucket is complete
  std::vector<torch::Tensor> staging_;
  std::vector<std::size_t> arrived_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<std::uintptr_t> hook_keys_;
  struct Pending {
    std::size_t bucket;
    torch::Tensor staged;  ///< kept alive until the collective is done
    torch::Tensor chunk;
    comm::CommWork work;
  };
  std::vector<Pending> pending_;  ///< overlap_comm: reduce-scatters in flight
  void wait_pending();
};

}  // namespace ds::engine::zero
