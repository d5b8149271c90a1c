#pragma once
// The one run configuration of ds: DeepSpeed's JSON config as users write it, plus our own "ds"
// section. Defaults follow DeepSpeed's code (deepspeed/runtime/constants.py, zero/config.py,
// zero/offload_config.py, precision_config.py, lr_schedules.py, swap_tensor/constants.py,
// activation_checkpointing/config.py, profiling/constants.py, tensor_parallel/config.py); each
// field's comment gives the default and, where it differs between DeepSpeed versions, which one
// we follow. docs/config.md is the user-facing reference.
//
// Reading and writing live in configs/config_io.hpp, the batch rule in configs/batch.hpp, "auto"
// resolution in configs/auto_resolve.hpp, cross-field checks in configs/validation.hpp.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace ds::configs {

/// Where ZeRO moves optimizer states or parameters (DeepSpeed's OffloadDeviceEnum).
enum class OffloadDevice { kNone, kCpu, kNvme };

/// Floating-point formats named in configs ("fp32", "fp16", "bf16"; DeepSpeed's DtypeEnum aliases
/// "float32", "float", "float16", "half", "bfloat16" are accepted on input).
enum class DType { kFp32, kFp16, kBf16 };

/// optimizer.type. DeepSpeed lower-cases the name before matching, so "adamw" and "AdamW" are the
/// same; names it does not know are looked up in torch.optim ("SGD"). kNone: no "optimizer"
/// section, the trainer's default (AdamW) is used.
enum class OptimizerType { kNone, kAdam, kAdamW, kLamb, kLion, kAdagrad, kSGD, kOneBitAdam, kZeroOneAdam, kOneBitLamb };

/// scheduler.type (deepspeed/runtime/lr_schedules.py VALID_LR_SCHEDULES). kNone: no scheduler
/// section, the learning rate stays constant.
enum class SchedulerType { kNone, kWarmupLR, kWarmupDecayLR, kWarmupCosineLR, kOneCycle, kLRRangeTest };

/// warmup_type of the Warmup* schedules: logarithmic (DeepSpeed's default) or linear ramp.
enum class WarmupType { kLog, kLinear };

/// checkpoint.tag_validation (case-insensitive on input, like DeepSpeed's .upper() check).
enum class TagValidation { kIgnore, kWarn, kFail };

/// ds.backend: collective backend. kAuto: NCCL when CUDA is in use, else Gloo.
enum class CommBackend { kAuto, kGloo, kNccl };

/// ds.activation_checkpointing: which transformer blocks recompute activations in backward.
struct CheckpointPolicy {
  enum class Kind { kNone, kFull, kSelective, kEveryN };
  Kind kind = Kind::kNone;  ///< "none" | "full" (every block) | "selective" (attention core only) | "every-N"
  int every_n = 0;          ///< N for kEveryN (checkpoint every N-th block), else 0
  bool operator==(const CheckpointPolicy&) const = default;
};

/// optimizer.params. One struct for every optimizer type; which keys a type accepts is listed in
/// docs/config.md (Adam/AdamW: lr, betas, eps, weight_decay, bias_correction, amsgrad,
/// adam_w_mode, torch_adam; SGD: lr, momentum, dampening, nesterov, weight_decay; ...). Defaults are
/// those of the optimizer's constructor (torch.optim / deepspeed.ops); `optimizer_defaults(type)`
/// fills them. "auto" is accepted for lr, betas, eps, weight_decay (HF Trainer integration).
struct OptimizerParams {
  double lr = 1e-3;                          ///< learning rate (Adagrad 1e-2; every other type 1e-3)
  std::array<double, 2> betas = {0.9, 0.999};  ///< (beta1, beta2) of Adam-family, Lamb and Lion
  double eps = 1e-8;                         ///< Adam-family and Lamb epsilon (Adagrad 1e-10)
  double weight_decay = 0.0;                 ///< decoupled for AdamW and Adam with adam_w_mode
  bool bias_correction = true;               ///< Adam/AdamW/Lamb
  bool amsgrad = false;                      ///< Adam/AdamW
  bool adam_w_mode = true;                   ///< DeepSpeed ADAM_W_MODE_DEFAULT: Adam runs as AdamW unless false
  bool torch_adam = false;                   ///< use torch.optim.Adam instead of the fused kernel
  double momentum = 0.0;                     ///< SGD
  double dampening = 0.0;                    ///< SGD
  bool nesterov = false;                     ///< SGD
  double max_coeff = 10.0;                   ///< Lamb trust-ratio clamp (FusedLamb)
  double min_coeff = 0.01;                   ///< Lamb trust-ratio clamp (FusedLamb)
  double lr_decay = 0.0;                     ///< Adagrad
  double initial_accumulator_value = 0.0;    ///< Adagrad
  std::int64_t freeze_step = 100000;         ///< 1-bit Adam/Lamb, 0/1 Adam: warmup steps before compression
  std::string comm_backend_name = "nccl";    ///< 1-bit optimizers' compressed-allreduce backend
  bool cuda_aware = false;                   ///< 1-bit optimizers
  bool operator==(const OptimizerParams&) const = default;
};

/// The "optimizer" section.
struct OptimizerConfig {
  OptimizerType type = OptimizerType::kNone;  ///< DeepSpeed OPTIMIZER_TYPE_DEFAULT None
  OptimizerParams params;
  bool legacy_fusion = false;                 ///< DeepSpeed LEGACY_FUSION_DEFAULT
  bool operator==(const OptimizerConfig&) const = default;
};

/// scheduler.params: the union of the five schedules' parameters (lr_schedules.py constructors);
/// each type accepts only its own keys. "auto" is accepted for warmup_min_lr, warmup_max_lr,
/// warmup_num_steps, total_num_steps (HF Trainer integration).
struct SchedulerParams {
  // WarmupLR, WarmupDecayLR
  double warmup_min_lr = 0.0;                ///< start of the warmup ramp
  std::optional<double> warmup_max_lr;       ///< WarmupLR: unset = optimizer lr (current DeepSpeed); WarmupDecayLR: unset = 0.001
  // WarmupLR, WarmupDecayLR, WarmupCosineLR
  std::int64_t warmup_num_steps = 1000;      ///< ramp length in steps (DeepSpeed uses max(2, this))
  WarmupType warmup_type = WarmupType::kLog;  ///< "log" | "linear"
  // WarmupDecayLR, WarmupCosineLR (required there)
  std::optional<std::int64_t> total_num_steps;  ///< last step of the decay
  // WarmupCosineLR
  double warmup_min_ratio = 0.0;             ///< warmup starts at lr * this
  double cos_min_ratio = 0.0001;             ///< cosine ends at lr * this
  // OneCycle
  std::optional<double> cycle_min_lr;        ///< required for OneCycle
  std::optional<double> cycle_max_lr;        ///< required for OneCycle
  double decay_lr_rate = 0.0;
  std::int64_t cycle_first_step_size = 2000;
  std::optional<std::int64_t> cycle_second_step_size;  ///< unset = cycle_first_step_size
  std::int64_t cycle_first_stair_count = 0;  ///< 0: continuous (no staircase)
  std::optional<std::int64_t> cycle_second_stair_count;  ///< unset = cycle_first_stair_count
  std::int64_t decay_step_size = 0;          ///< 0: no post-cycle decay
  bool cycle_momentum = true;
  double cycle_min_mom = 0.8;
  double cycle_max_mom = 0.9;
  double decay_mom_rate = 0.0;
  // LRRangeTest
  double lr_range_test_min_lr = 1e-3;
  std::int64_t lr_range_test_step_size = 2000;
  double lr_range_test_step_rate = 1.0;
  bool lr_range_test_staircase = false;
  // all
  std::int64_t last_batch_iteration = -1;    ///< -1: start from the beginning
  bool operator==(const SchedulerParams&) const = default;
};

/// The "scheduler" section.
struct SchedulerConfig {
  SchedulerType type = SchedulerType::kNone;  ///< DeepSpeed SCHEDULER_TYPE_DEFAULT None
  SchedulerParams params;
  bool operator==(const SchedulerConfig&) const = default;
};

/// "fp16": mixed precision with a dynamic (or static) loss scaler.
struct Fp16Config {
  bool enabled = false;                ///< "auto" allowed
  bool auto_cast = false;              ///< cast inputs to fp16
  double loss_scale = 0.0;             ///< 0: dynamic loss scaling; > 0: static scale
  int initial_scale_power = 16;        ///< dynamic scaler starts at 2^this
  int loss_scale_window = 1000;        ///< steps without overflow before the scale doubles
  int hysteresis = 2;                  ///< overflows tolerated before the scale halves (DELAYED_SHIFT)
  bool consecutive_hysteresis = false;  ///< refill hysteresis after a step without overflow
  double min_loss_scale = 1.0;         ///< floor of the dynamic scale
  bool fp16_master_weights_and_grads = false;
  bool operator==(const Fp16Config&) const = default;
};

/// "bf16" (the old key "bfloat16" is read as this).
struct Bf16Config {
  bool enabled = false;                ///< "auto" allowed
  bool immediate_grad_update = false;  ///< precision_config.py default (constants.py says True; the model wins)
  bool check_grad_overflow = false;
  bool operator==(const Bf16Config&) const = default;
};

/// zero_optimization.offload_optimizer (DeepSpeedZeroOffloadOptimizerConfig).
struct OffloadOptimizerConfig {
  OffloadDevice device = OffloadDevice::kNone;
  std::string nvme_path;               ///< required when device is nvme
  int buffer_count = 4;                ///< NVMe buffer pool size (>= optimizer states per param)
  bool pin_memory = false;             ///< page-locked host buffers
  bool pipeline_read = false;
  bool pipeline_write = false;
  bool fast_init = false;
  double ratio = 1.0;                  ///< fraction of optimizer states offloaded (< 1 needs stage 3)
  bool operator==(const OffloadOptimizerConfig&) const = default;
};

/// zero_optimization.offload_param (DeepSpeedZeroOffloadParamConfig); stage 3 only.
struct OffloadParamConfig {
  OffloadDevice device = OffloadDevice::kNone;
  std::string nvme_path;               ///< required when device is nvme
  int buffer_count = 5;                ///< NVMe buffer pool size
  std::int64_t buffer_size = 100000000;   ///< elements per NVMe buffer (1e8)
  std::int64_t max_in_cpu = 1000000000;   ///< elements kept in CPU memory with NVMe offload (1e9)
  bool pin_memory = false;
  bool operator==(const OffloadParamConfig&) const = default;
};

/// "zero_optimization" (DeepSpeedZeroConfig). Sizes are element counts, not bytes.
struct ZeroConfig {
  int stage = 0;                                   ///< 0 disabled, 1 optimizer states, 2 + gradients, 3 + parameters
  std::optional<bool> overlap_comm;                ///< unset: true at stage 3, else false (overlap_comm_valid)
  bool contiguous_gradients = true;
  bool reduce_scatter = true;
  std::int64_t reduce_bucket_size = 500000000;     ///< 5e8; "auto" = hidden^2
  bool use_multi_rank_bucket_allreduce = true;
  bool allgather_partitions = true;
  std::int64_t allgather_bucket_size = 500000000;  ///< 5e8
  bool load_from_fp32_weights = true;
  bool elastic_checkpoint = false;
  OffloadOptimizerConfig offload_optimizer;        ///< device none = no offload (DeepSpeed: None)
  OffloadParamConfig offload_param;                ///< device none = no offload (DeepSpeed: None)
  std::int64_t sub_group_size = 1000000000;        ///< 1e9
  std::int64_t stage3_prefetch_bucket_size = 50000000;        ///< 5e7; "auto" = 0.9 hidden^2
  std::int64_t stage3_param_persistence_threshold = 100000;   ///< 1e5; "auto" = 10 hidden
  std::int64_t stage3_model_persistence_threshold = INT64_MAX;  ///< sys.maxsize
  std::int64_t stage3_max_live_parameters = 1000000000;       ///< 1e9
  std::int64_t stage3_max_reuse_distance = 1000000000;        ///< 1e9
  bool stage3_gather_16bit_weights_on_model_save = false;     ///< also read from the deprecated ..._fp16_...
  bool ignore_unused_parameters = true;
  bool round_robin_gradients = false;
  int zero_hpz_partition_size = 1;
  bool zero_quantized_weights = false;
  bool zero_quantized_nontrainable_weights = false;
  bool zero_quantized_gradients = false;
  int mics_shard_size = -1;
  bool mics_hierarchical_params_gather = false;
  bool memory_efficient_linear = true;
  bool override_module_apply = true;
  bool operator==(const ZeroConfig&) const = default;

  /// overlap_comm with DeepSpeed's dynamic default applied.
  bool overlap_comm_effective() const { return overlap_comm.value_or(stage == 3); }
};

/// "activation_checkpointing" (DeepSpeed's checkpointing.configure options).
struct ActivationCheckpointingConfig {
  bool partition_activations = false;
  bool cpu_checkpointing = false;
  bool contiguous_memory_optimization = false;
  std::optional<int> number_checkpoints;   ///< DeepSpeed default None
  bool synchronize_checkpoint_boundary = false;
  bool profile = false;
  bool operator==(const ActivationCheckpointingConfig&) const = default;
};

/// "aio": async I/O for NVMe offload (swap_tensor/constants.py).
struct AioConfig {
  std::int64_t block_size = 1048576;   ///< bytes per I/O request (1 MiB)
  int queue_depth = 8;
  int thread_count = 1;
  bool single_submit = false;
  bool overlap_events = true;
  bool operator==(const AioConfig&) const = default;
};

/// "pipeline" (runtime/config.py get_pipeline_config).
struct PipelineConfig {
  std::optional<int> stages;             ///< unset = "auto" (the model's stage count; ds: 1)
  std::string partition = "best";        ///< "best" | "parameters" | "uniform" | "type:<regex>"
  bool seed_layers = false;
  int activation_checkpoint_interval = 0;
  bool pipe_partitioned = true;
  bool grad_partitioned = true;
  bool operator==(const PipelineConfig&) const = default;
};

/// "tensor_parallel" (runtime/tensor_parallel/config.py TPTrainingConfig).
struct TensorParallelConfig {
  int autotp_size = 0;                   ///< AutoTP degree for training; 0 disabled
  bool tp_overlap_comm = false;
  int tp_size = 1;                       ///< tensor_parallel.tp.tp_size
  int tp_grain_size = 1;                 ///< tensor_parallel.tp.tp_grain_size
  bool operator==(const TensorParallelConfig&) const = default;
};

/// "checkpoint".
struct CheckpointConfig {
  TagValidation tag_validation = TagValidation::kWarn;
  bool load_universal = false;
  bool use_node_local_storage = false;
  bool parallel_write_pipeline_stage = false;   ///< checkpoint.parallel_write.pipeline_stage
  bool operator==(const CheckpointConfig&) const = default;
};

/// "data_types".
struct DataTypesConfig {
  std::optional<DType> grad_accum_dtype;  ///< unset: the training dtype
  bool operator==(const DataTypesConfig&) const = default;
};

/// "flops_profiler" (profiling/constants.py).
struct FlopsProfilerConfig {
  bool enabled = false;
  double recompute_fwd_factor = 0.0;
  int profile_step = 1;
  int module_depth = -1;
  int top_modules = 1;
  bool detailed = true;
  std::string output_file;                ///< "" = stdout (DeepSpeed None)
  bool operator==(const FlopsProfilerConfig&) const = default;
};

/// Our own section, "ds" / [ds]: what DeepSpeed has no key for.
struct DsSection {
  std::string model;                      ///< preset name or path to a HF config.json; "" = built-in tiny model
  std::string data;                       ///< training token file
  std::string eval_data;                  ///< evaluation token file ("" = none)
  std::string tokenizer;                  ///< HF tokenizer.json ("" = beside the model)
  std::string run_dir = "runs/ds";        ///< checkpoints, metrics and the resolved config go here
  std::int64_t steps = 0;                 ///< optimizer steps to run; 0 = not set
  std::int64_t seq_len = 0;               ///< tokens per sample; 0 = the model's context length
  std::int64_t seed = 42;                 ///< HF TrainingArguments' default seed
  int nproc = 1;                          ///< local ranks `ds train` spawns
  std::string hostfile;                   ///< DeepSpeed-style hostfile for multi-node ("" = single node)
  std::optional<DType> dtype;             ///< model/compute dtype; unset = from fp16/bf16 sections
  CheckpointPolicy activation_checkpointing;  ///< "none" | "full" | "selective" | "every-N"
  CommBackend backend = CommBackend::kAuto;   ///< "auto" | "gloo" | "nccl"
  int comm_timeout_s = 1800;              ///< collective timeout (torch.distributed's 30 min default)
  std::int64_t save_every = 0;            ///< steps between checkpoints; 0 = only at the end
  int keep_checkpoints = 2;               ///< newest checkpoints kept in run_dir
  std::int64_t eval_every = 0;            ///< steps between evaluations; 0 = never
  bool resume = true;                     ///< continue from the newest checkpoint in run_dir
  bool operator==(const DsSection&) const = default;
};

/// What the user wrote, as opposed to defaults: lets the writers emit the user's config back
/// (not every default) and keep "auto" as "auto" until it is resolved.
struct Provenance {
  std::set<std::string> set_keys;   ///< dotted key paths the input contained (sections included)
  std::set<std::string> auto_keys;  ///< dotted key paths whose value was "auto" and is not resolved yet
  bool operator==(const Provenance&) const = default;
};

/// The whole run configuration.
struct Config {
  std::optional<std::int64_t> train_batch_size;                ///< "auto" allowed; see batch.hpp
  std::optional<std::int64_t> train_micro_batch_size_per_gpu;  ///< "auto" allowed
  std::optional<std::int64_t> gradient_accumulation_steps;     ///< "auto" allowed
  double gradient_clipping = 0.0;         ///< max global grad norm; 0 = off; "auto" allowed
  int steps_per_print = 10;               ///< DeepSpeed <= 0.16 default (newer: None = never)
  bool wall_clock_breakdown = false;
  bool memory_breakdown = false;
  bool dump_state = false;
  bool prescale_gradients = false;
  double gradient_predivide_factor = 1.0;
  std::optional<DType> communication_data_type;  ///< unset: the gradient dtype
  bool sparse_gradients = false;
  bool zero_allow_untested_optimizer = false;
  bool zero_force_ds_cpu_optimizer = true;
  bool dataloader_drop_last = false;
  /// DeepSpeed-Ulysses degree: the engine's sequence-data-parallel groups (the attention's
  /// all-to-alls are set up in model code). ds train runs 1 only; `ds tune --max-sp` emits it.
  int sequence_parallel_size = 1;

  OptimizerConfig optimizer;
  SchedulerConfig scheduler;
  Fp16Config fp16;
  Bf16Config bf16;
  ZeroConfig zero_optimization;
  ActivationCheckpointingConfig activation_checkpointing;
  AioConfig aio;
  PipelineConfig pipeline;
  TensorParallelConfig tensor_parallel;
  CheckpointConfig checkpoint;
  DataTypesConfig data_types;
  FlopsProfilerConfig flops_profiler;
  DsSection ds;

  /// DeepSpeed keys ds reads but does not act on ("tensorboard", "wandb", "amp", "elasticity",
  /// "zero_optimization.leaf_module", ...; docs/config.md lists them), keyed by dotted path, each
  /// value kept as compact JSON text with sorted keys so conversion loses nothing.
  std::map<std::string, std::string> passthrough;

  Provenance provenance;

  bool operator==(const Config&) const = default;

  /// True while `path` (e.g. "zero_optimization.reduce_bucket_size") holds an unresolved "auto".
  bool is_auto(std::string_view path) const { return provenance.auto_keys.count(std::string(path)) > 0; }
  /// True when the input set `path` (a key or a section) explicitly.
  bool is_set(std::string_view path) const { return provenance.set_keys.count(std::string(path)) > 0; }
  /// True when any "auto" is left (resolve_auto clears them all).
  bool has_auto() const { return !provenance.auto_keys.empty(); }
};

/// The dtype the model computes in: ds.dtype if set, else bf16/fp16 when enabled, else fp32.
DType compute_dtype(const Config& config);

/// The optimizer's constructor defaults for `type` (lr, betas, eps, ... as listed in OptimizerParams).
OptimizerParams optimizer_defaults(OptimizerType type);

/// Canonical names, as written to files ("AdamW", "WarmupCosineLR", "nvme", "bf16", "Warn", ...).
std::string to_string(OffloadDevice value);
std::string to_string(DType value);
std::string to_string(OptimizerType value);
std::string to_string(SchedulerType value);
std::string to_string(WarmupType value);
std::string to_string(TagValidation value);
std::string to_string(CommBackend value);
std::string to_string(const CheckpointPolicy& value);

}  // namespace ds::configs
