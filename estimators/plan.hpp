#pragma once
// Plan: the tunable choices of one training run (the autotuner searches over these; the memory
// estimator and the cost model price them). Names follow DeepSpeed's config keys. Lives in
// estimators/ rather than autotune/ so the estimator need not depend upward (docs/design.md §2).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::estimators {

struct ModelSpec;

/// Where ZeRO keeps optimizer states or parameters (DeepSpeed offload_optimizer/offload_param.device).
enum class OffloadDevice { kNone, kCpu, kNvme };

/// Training precision: fp32, or mixed precision with 16-bit working copies and an fp32 master.
enum class DType { kFp32, kFp16, kBf16 };

/// Optimizer; decides the bytes of state per parameter (Adam/AdamW: m and v; SGD: momentum).
enum class OptimizerKind { kAdam, kAdamW, kSgd };

/// Activation checkpointing (Korthikanti et al. 2022): keep everything, only the attention core
/// is recomputed (selective), or each block recomputes from its input (full).
enum class Checkpointing { kNone, kSelective, kFull };

/// Whose engine runs the plan. DeepSpeed's buffers are what its formulas and the ZeRO paper
/// describe; ds's own ZeRO optimizer (engine/zero) keeps an fp32 gradient partition instead of a
/// 16-bit one and reduces in fp32, so its buffers differ (estimators/ds_zero_memory.hpp).
enum class Engine { kDeepSpeed, kDs };

/// One training configuration. Defaults are DeepSpeed's (deepspeed/runtime/zero/config.py).
struct Plan {
  int zero_stage = 0;                                 ///< ZeRO stage 0..3
  OffloadDevice offload_optimizer = OffloadDevice::kNone;  ///< cpu: stage 1-3; nvme: stage 3
  OffloadDevice offload_param = OffloadDevice::kNone;      ///< stage 3 only
  /// offload_optimizer.ratio: the fraction of the optimizer's sub-groups offloaded (< 1: stage 3
  /// only, the first sub-groups stay on the device; ds_partial_offload_on_device).
  double offload_optimizer_ratio = 1.0;
  DType dtype = DType::kBf16;                         ///< working precision
  OptimizerKind optimizer = OptimizerKind::kAdamW;
  bool sgd_momentum = false;                          ///< SGD keeps a momentum buffer
  std::int64_t micro_batch = 1;                       ///< sequences per GPU per forward (train_micro_batch_size_per_gpu)
  std::int64_t seq_len = 2048;                        ///< tokens per sequence
  std::int64_t grad_accum = 1;                        ///< micro-batches per optimizer step
  Checkpointing checkpointing = Checkpointing::kNone;
  int checkpoint_every = 1;                           ///< with kFull: blocks 0, N, 2N, ... recompute, the rest keep everything ("every-N")
  int dp = 1;                                         ///< data-parallel degree
  int tp = 1;                                         ///< tensor-parallel degree (Megatron-LM)
  int pp = 1;                                         ///< pipeline stages
  int sp = 1;                                         ///< sequence-parallel degree (DeepSpeed-Ulysses)
  bool sequence_parallel = false;                     ///< Megatron sequence parallelism inside the tp group
  std::int64_t reduce_bucket_size = 500'000'000;      ///< elements per gradient reduce bucket
  std::int64_t allgather_bucket_size = 500'000'000;   ///< elements per stage 1/2 parameter all-gather
  std::int64_t stage3_prefetch_bucket_size = 50'000'000;      ///< elements prefetched ahead (stage 3)
  std::int64_t stage3_max_live_parameters = 1'000'000'000;    ///< elements gathered at once (stage 3)
  std::int64_t stage3_param_persistence_threshold = 100'000;  ///< smaller tensors stay gathered (stage 3)
  std::optional<bool> overlap_comm;                   ///< unset: DeepSpeed's default, true only for stage 3
  std::int64_t sub_group_size = 1'000'000'000;        ///< elements per streamed piece of NVMe-offloaded states
  int nvme_optimizer_buffers = 4;                     ///< offload_optimizer.buffer_count
  int nvme_param_buffers = 5;                         ///< offload_param.buffer_count
  std::int64_t nvme_param_buffer_size = 100'000'000;  ///< offload_param.buffer_size (elements)
  bool fused_attention = true;                        ///< flash/SDPA attention: no s x s score tensors
  /// Accumulate gradients in fp32 (DeepSpeed's data_types.grad_accum_dtype). Unset: DeepSpeed's
  /// default (engine.get_data_types, 0.10-0.16): fp32 for bf16 without ZeRO, else the working dtype.
  std::optional<bool> fp32_grad_accumulation;
  Engine engine = Engine::kDeepSpeed;                 ///< whose buffers to price

  /// Partial optimizer offload: some of the optimizer on the device, the rest offloaded.
  bool partial_offload() const { return offload_optimizer != OffloadDevice::kNone && offload_optimizer_ratio < 1.0; }
  /// ds's engine runs its ZeRO optimizer (engine/zero): across more than one partition, or at
  /// stage 3 with parameter offload or partial optimizer offload on one (otherwise one rank runs
  /// the single-process optimizer).
  bool ds_zero_sharded() const {
    return zero_stage >= 1 &&
           (zero_partitions() > 1 || (zero_stage == 3 && (offload_param != OffloadDevice::kNone || partial_offload())));
  }
  /// ds's own optimizer buffers are priced (estimators/ds_zero_memory.hpp): its ZeRO optimizer,
  /// or optimizer offload (CPU or NVMe) on any number of ranks.
  bool ds_zero_optimizer() const {
    if (engine != Engine::kDs || zero_stage < 1) return false;
    return ds_zero_sharded() || offload_optimizer != OffloadDevice::kNone;
  }

  /// ds's engine reruns every block in backward at ZeRO-3 when sharded (its backward fetches a
  /// block's parameters again), whatever activation checkpointing the config asks for.
  bool ds_recomputes_every_block() const { return engine == Engine::kDs && zero_stage == 3 && ds_zero_sharded(); }

  bool overlap_comm_enabled() const { return overlap_comm.value_or(zero_stage == 3); }
  bool fp32_grad_accumulation_enabled() const {
    return fp32_grad_accumulation.value_or(dtype == DType::kBf16 && zero_stage == 0);
  }
  /// Ranks that share one model replica's partitions: ZeRO partitions over dp * sp (DeepSpeed
  /// partitions over the sequence-data-parallel group when Ulysses is on).
  int zero_partitions() const { return dp * sp; }
  int world() const { return dp * tp * pp * sp; }
};

std::string_view offload_name(OffloadDevice d);      ///< "none" | "cpu" | "nvme"
std::string_view dtype_name(DType d);                ///< "fp32" | "fp16" | "bf16"
std::string_view optimizer_name(OptimizerKind o);    ///< "adam" | "adamw" | "sgd"
std::string_view checkpointing_name(Checkpointing c);  ///< "none" | "selective" | "full"
std::string_view engine_name(Engine e);              ///< "deepspeed" | "ds"

/// Parsers for the CLI and configs; throw UsageError naming `what` and listing the choices.
OffloadDevice parse_offload(std::string_view text, const std::string& what);
DType parse_dtype(std::string_view text, const std::string& what);
Checkpointing parse_checkpointing(std::string_view text, const std::string& what);
Engine parse_engine(std::string_view text, const std::string& what);
/// "adam", "adamw", "sgd" or "sgd-momentum" (case-insensitive); sets plan.optimizer and sgd_momentum.
void parse_optimizer(std::string_view text, const std::string& what, Plan& plan);

/// `plan` as ds's engine runs it: engine ds, and full activation checkpointing where the engine
/// recomputes every block (ds_recomputes_every_block) -- what its step time and memory follow.
Plan as_run_by_ds(Plan plan);

/// Bytes of one element of the working precision: 4 for fp32, 2 for fp16/bf16.
double dtype_bytes(DType d);

/// Why `plan` cannot run `model` (empty when it can). `world`, when given, is the number of
/// ranks the plan must fill exactly. Each reason is one sentence naming the values.
std::vector<std::string> plan_problems(const Plan& plan, const ModelSpec& model, std::optional<int> world = {});

/// Throws UsageError "plan: <reason>; <reason>" when plan_problems is not empty.
void validate_plan(const Plan& plan, const ModelSpec& model, std::optional<int> world = {});

}  // namespace ds::estimators
