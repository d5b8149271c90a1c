#pragma once
// The one list of config keys. Each visit_* function names every key of one section, in the order
// writers emit them, with its bounds and whether "auto" is allowed. The reader, the writer and the
// key lister are visitors over these functions, so a key added here is read, written, validated,
// suggested in "did you mean" and covered by the every-key test at once.
//
// A visitor V provides:
//   static constexpr bool kReads;                       // true: the visitor assigns to fields
//   template <class T> void field(std::string_view key, T& value, const FieldSpec& spec);
//   template <class Body> void section(std::string_view key, Body&& body);   // body(V&)
//   void passthrough(std::span<const std::string_view> keys);   // kept verbatim (Config::passthrough)
// C is Config or const Config (writers).
#include <limits>
#include <string_view>

#include "configs/config.hpp"

namespace ds::configs::detail {

/// Constraints of one key.
struct FieldSpec {
  bool auto_ok = false;  ///< "auto" accepted (HF Trainer integration)
  double min = -std::numeric_limits<double>::infinity();  ///< inclusive bounds for numbers
  double max = std::numeric_limits<double>::infinity();
  bool required = false;  ///< the reader rejects a section without it
};

inline constexpr FieldSpec kAny{};
inline constexpr FieldSpec kNonNegative{false, 0.0};
inline constexpr FieldSpec kPositive{false, 1.0};  // integers only
inline constexpr FieldSpec kAutoNonNegative{true, 0.0};
inline constexpr FieldSpec kAutoPositive{true, 1.0};
inline constexpr FieldSpec kUnit{false, 0.0, 1.0};
inline constexpr FieldSpec kRequired{false, -std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::infinity(), true};

// DeepSpeed keys ds keeps verbatim but does not act on (see Config::passthrough).
inline constexpr std::string_view kTopLevelPassthrough[] = {
    "amp", "tensorboard", "wandb", "csv_monitor", "comet", "comms_logger", "compression_training", "elasticity",
    "autotuning", "sparse_attention", "curriculum_learning", "data_efficiency", "progressive_layer_drop",
    "eigenvalue", "quantize_training", "nebula", "datastates", "hybrid_engine", "compile", "weight_quantization",
    "timers", "torch_autocast", "expert_parallel", "disable_allgather", "vocabulary_size",
    "seq_parallel_communication_data_type", "graph_harvesting", "use_data_before_expert_parallelism",
    "gradient_allreduce_op", "moe"};
inline constexpr std::string_view kZeroPassthrough[] = {
    "zenflow", "zeropp_loco_param", "leaf_module", "stage3_module_granularity_threshold",
    "stage3_use_all_reduce_for_fetch_params", "stage3_allgather_sequential", "log_trace_cache_warnings",
    "enable_sanity_checks", "pipeline_loading_checkpoint", "legacy_stage1", "save_muon_momentum_buffer_in_memory",
    "stage3_partition_stream_chunk_size"};
inline constexpr std::string_view kBf16Passthrough[] = {"bf16_master_weights_and_grads", "bf16_optimizer_states"};
inline constexpr std::string_view kOffloadOptimizerPassthrough[] = {"super_offload", "convert_grad_on_cpu",
                                                                    "cpuadam_cores_perc"};
inline constexpr std::string_view kAioPassthrough[] = {"intra_op_parallelism", "use_gds"};
inline constexpr std::string_view kTensorParallelPassthrough[] = {
    "dtype", "partition_config", "preset_model", "keep_module_on_host", "replace_with_kernel_inject",
    "kernel_inject", "injection_policy_tuple"};
inline constexpr std::string_view kCheckpointPassthrough[] = {"writer"};

template <class V, class C>
void visit_optimizer_params(V& v, OptimizerType type, C& p) {
  using T = OptimizerType;
  const bool adam = type == T::kAdam || type == T::kAdamW;
  const bool onebit = type == T::kOneBitAdam || type == T::kZeroOneAdam || type == T::kOneBitLamb;
  const bool lamb = type == T::kLamb || type == T::kOneBitLamb;
  v.field("lr", p.lr, kAutoNonNegative);
  if (type != T::kAdagrad && type != T::kSGD) v.field("betas", p.betas, FieldSpec{true, 0.0, 1.0});
  if (type != T::kLion && type != T::kSGD) v.field("eps", p.eps, kAutoNonNegative);
  v.field("weight_decay", p.weight_decay, kAutoNonNegative);
  if (adam || lamb || onebit) v.field("bias_correction", p.bias_correction, kAny);
  if (adam) {
    v.field("amsgrad", p.amsgrad, kAny);
    v.field("adam_w_mode", p.adam_w_mode, kAny);
    v.field("torch_adam", p.torch_adam, kAny);
  }
  if (type == T::kSGD) {
    v.field("momentum", p.momentum, kNonNegative);
    v.field("dampening", p.dampening, kNonNegative);
    v.field("nesterov", p.nesterov, kAny);
  }
  if (lamb) {
    v.field("max_coeff", p.max_coeff, kNonNegative);
    v.field("min_coeff", p.min_coeff, kNonNegative);
  }
  if (type == T::kAdagrad) {
    v.field("lr_decay", p.lr_decay, kNonNegative);
    v.field("initial_accumulator_value", p.initial_accumulator_value, kNonNegative);
  }
  if (onebit) {
    if (type != T::kZeroOneAdam) v.field("freeze_step", p.freeze_step, kNonNegative);
    v.field("cuda_aware", p.cuda_aware, kAny);
    v.field("comm_backend_name", p.comm_backend_name, kAny);
  }
}

template <class V, class C>
void visit_optimizer(V& v, C& o) {
  v.field("type", o.type, kRequired);
  if constexpr (V::kReads) o.params = optimizer_defaults(o.type);
  v.section("params", [&](V& sv) { visit_optimizer_params(sv, o.type, o.params); });
  v.field("legacy_fusion", o.legacy_fusion, kAny);
}

template <class V, class C>
void visit_scheduler_params(V& v, SchedulerType type, C& p) {
  using T = SchedulerType;
  const bool warmup = type == T::kWarmupLR || type == T::kWarmupDecayLR;
  const bool decays = type == T::kWarmupDecayLR || type == T::kWarmupCosineLR;
  if (warmup) {
    v.field("warmup_min_lr", p.warmup_min_lr, kAutoNonNegative);
    v.field("warmup_max_lr", p.warmup_max_lr, kAutoNonNegative);
  }
  if (warmup || decays) {
    v.field("warmup_num_steps", p.warmup_num_steps, kAutoNonNegative);
    v.field("warmup_type", p.warmup_type, kAny);
  }
  if (decays) v.field("total_num_steps", p.total_num_steps, kAutoPositive);
  if (type == T::kWarmupCosineLR) {
    v.field("warmup_min_ratio", p.warmup_min_ratio, kUnit);
    v.field("cos_min_ratio", p.cos_min_ratio, kUnit);
  }
  if (type == T::kOneCycle) {
    v.field("cycle_min_lr", p.cycle_min_lr, kNonNegative);
    v.field("cycle_max_lr", p.cycle_max_lr, kNonNegative);
    v.field("decay_lr_rate", p.decay_lr_rate, kNonNegative);
    v.field("cycle_first_step_size", p.cycle_first_step_size, kPositive);
    v.field("cycle_second_step_size", p.cycle_second_step_size, kPositive);
    v.field("cycle_first_stair_count", p.cycle_first_stair_count, kNonNegative);
    v.field("cycle_second_stair_count", p.cycle_second_stair_count, kNonNegative);
    v.field("decay_step_size", p.decay_step_size, kNonNegative);
    v.field("cycle_momentum", p.cycle_momentum, kAny);
    v.field("cycle_min_mom", p.cycle_min_mom, kUnit);
    v.field("cycle_max_mom", p.cycle_max_mom, kUnit);
    v.field("decay_mom_rate", p.decay_mom_rate, kNonNegative);
  }
  if (type == T::kLRRangeTest) {
    v.field("lr_range_test_min_lr", p.lr_range_test_min_lr, kNonNegative);
    v.field("lr_range_test_step_size", p.lr_range_test_step_size, kPositive);
    v.field("lr_range_test_step_rate", p.lr_range_test_step_rate, kNonNegative);
    v.field("lr_range_test_staircase", p.lr_range_test_staircase, kAny);
  }
  v.field("last_batch_iteration", p.last_batch_iteration, FieldSpec{false, -1.0});
}

template <class V, class C>
void visit_scheduler(V& v, C& s) {
  v.field("type", s.type, kRequired);
  v.section("params", [&](V& sv) { visit_scheduler_params(sv, s.type, s.params); });
}

template <class V, class C>
void visit_fp16(V& v, C& f) {
  v.field("enabled", f.enabled, FieldSpec{true});
  v.field("auto_cast", f.auto_cast, kAny);
  v.field("loss_scale", f.loss_scale, kNonNegative);
  v.field("initial_scale_power", f.initial_scale_power, FieldSpec{false, 0.0, 64.0});
  v.field("loss_scale_window", f.loss_scale_window, kPositive);
  v.field("hysteresis", f.hysteresis, kPositive);
  v.field("consecutive_hysteresis", f.consecutive_hysteresis, kAny);
  v.field("min_loss_scale", f.min_loss_scale, kNonNegative);
  v.field("fp16_master_weights_and_grads", f.fp16_master_weights_and_grads, kAny);
}

template <class V, class C>
void visit_bf16(V& v, C& b) {
  v.field("enabled", b.enabled, FieldSpec{true});
  v.field("immediate_grad_update", b.immediate_grad_update, kAny);
  v.field("check_grad_overflow", b.check_grad_overflow, kAny);
  v.passthrough(kBf16Passthrough);
}

template <class V, class C>
void visit_offload_optimizer(V& v, C& o) {
  v.field("device", o.device, kAny);
  v.field("nvme_path", o.nvme_path, kAny);
  v.field("pin_memory", o.pin_memory, kAny);
  v.field("buffer_count", o.buffer_count, kNonNegative);
  v.field("pipeline_read", o.pipeline_read, kAny);
  v.field("pipeline_write", o.pipeline_write, kAny);
  v.field("fast_init", o.fast_init, kAny);
  v.field("ratio", o.ratio, kUnit);
  v.passthrough(kOffloadOptimizerPassthrough);
}

template <class V, class C>
void visit_offload_param(V& v, C& o) {
  v.field("device", o.device, kAny);
  v.field("nvme_path", o.nvme_path, kAny);
  v.field("pin_memory", o.pin_memory, kAny);
  v.field("buffer_count", o.buffer_count, kNonNegative);
  v.field("buffer_size", o.buffer_size, kNonNegative);
  v.field("max_in_cpu", o.max_in_cpu, kNonNegative);
}

template <class V, class C>
void visit_zero(V& v, C& z) {
  v.field("stage", z.stage, FieldSpec{false, 0.0, 3.0});
  v.field("overlap_comm", z.overlap_comm, kAny);
  v.field("contiguous_gradients", z.contiguous_gradients, kAny);
  v.field("reduce_scatter", z.reduce_scatter, kAny);
  v.field("reduce_bucket_size", z.reduce_bucket_size, kAutoNonNegative);
  v.field("use_multi_rank_bucket_allreduce", z.use_multi_rank_bucket_allreduce, kAny);
  v.field("allgather_partitions", z.allgather_partitions, kAny);
  v.field("allgather_bucket_size", z.allgather_bucket_size, kNonNegative);
  v.field("load_from_fp32_weights", z.load_from_fp32_weights, kAny);
  v.field("elastic_checkpoint", z.elastic_checkpoint, kAny);
  v.section("offload_optimizer", [&](V& sv) { visit_offload_optimizer(sv, z.offload_optimizer); });
  v.section("offload_param", [&](V& sv) { visit_offload_param(sv, z.offload_param); });
  v.field("sub_group_size", z.sub_group_size, kNonNegative);
  v.field("stage3_prefetch_bucket_size", z.stage3_prefetch_bucket_size, kAutoNonNegative);
  v.field("stage3_param_persistence_threshold", z.stage3_param_persistence_threshold, kAutoNonNegative);
  v.field("stage3_model_persistence_threshold", z.stage3_model_persistence_threshold, kNonNegative);
  v.field("stage3_max_live_parameters", z.stage3_max_live_parameters, kNonNegative);
  v.field("stage3_max_reuse_distance", z.stage3_max_reuse_distance, kNonNegative);
  v.field("stage3_gather_16bit_weights_on_model_save", z.stage3_gather_16bit_weights_on_model_save, kAny);
  v.field("ignore_unused_parameters", z.ignore_unused_parameters, kAny);
  v.field("round_robin_gradients", z.round_robin_gradients, kAny);
  v.field("zero_hpz_partition_size", z.zero_hpz_partition_size, kNonNegative);
  v.field("zero_quantized_weights", z.zero_quantized_weights, kAny);
  v.field("zero_quantized_nontrainable_weights", z.zero_quantized_nontrainable_weights, kAny);
  v.field("zero_quantized_gradients", z.zero_quantized_gradients, kAny);
  v.field("mics_shard_size", z.mics_shard_size, FieldSpec{false, -1.0});
  v.field("mics_hierarchical_params_gather", z.mics_hierarchical_params_gather, kAny);
  v.field("memory_efficient_linear", z.memory_efficient_linear, kAny);
  v.field("override_module_apply", z.override_module_apply, kAny);
  v.passthrough(kZeroPassthrough);
}

template <class V, class C>
void visit_activation_checkpointing(V& v, C& a) {
  v.field("partition_activations", a.partition_activations, kAny);
  v.field("cpu_checkpointing", a.cpu_checkpointing, kAny);
  v.field("contiguous_memory_optimization", a.contiguous_memory_optimization, kAny);
  v.field("number_checkpoints", a.number_checkpoints, kNonNegative);
  v.field("synchronize_checkpoint_boundary", a.synchronize_checkpoint_boundary, kAny);
  v.field("profile", a.profile, kAny);
}

template <class V, class C>
void visit_aio(V& v, C& a) {
  v.field("block_size", a.block_size, kPositive);
  v.field("queue_depth", a.queue_depth, kPositive);
  v.field("thread_count", a.thread_count, kPositive);
  v.field("single_submit", a.single_submit, kAny);
  v.field("overlap_events", a.overlap_events, kAny);
  v.passthrough(kAioPassthrough);
}

template <class V, class C>
void visit_pipeline(V& v, C& p) {
  v.field("stages", p.stages, kAutoPositive);
  v.field("partition", p.partition, kAny);
  v.field("seed_layers", p.seed_layers, kAny);
  v.field("activation_checkpoint_interval", p.activation_checkpoint_interval, kNonNegative);
  v.field("pipe_partitioned", p.pipe_partitioned, kAny);
  v.field("grad_partitioned", p.grad_partitioned, kAny);
}

template <class V, class C>
void visit_tensor_parallel(V& v, C& t) {
  v.field("autotp_size", t.autotp_size, kNonNegative);
  v.field("tp_overlap_comm", t.tp_overlap_comm, kAny);
  v.section("tp", [&](V& sv) {
    sv.field("tp_size", t.tp_size, kPositive);
    sv.field("tp_grain_size", t.tp_grain_size, kPositive);
  });
  v.passthrough(kTensorParallelPassthrough);
}

template <class V, class C>
void visit_checkpoint(V& v, C& c) {
  v.field("tag_validation", c.tag_validation, kAny);
  v.field("load_universal", c.load_universal, kAny);
  v.field("use_node_local_storage", c.use_node_local_storage, kAny);
  v.section("parallel_write", [&](V& sv) { sv.field("pipeline_stage", c.parallel_write_pipeline_stage, kAny); });
  v.passthrough(kCheckpointPassthrough);
}

template <class V, class C>
void visit_flops_profiler(V& v, C& f) {
  v.field("enabled", f.enabled, kAny);
  v.field("recompute_fwd_factor", f.recompute_fwd_factor, kNonNegative);
  v.field("profile_step", f.profile_step, kPositive);
  v.field("module_depth", f.module_depth, FieldSpec{false, -1.0});
  v.field("top_modules", f.top_modules, kPositive);
  v.field("detailed", f.detailed, kAny);
  v.field("output_file", f.output_file, kAny);
}

template <class V, class C>
void visit_ds(V& v, C& d) {
  v.field("model", d.model, kAny);
  v.field("data", d.data, kAny);
  v.field("eval_data", d.eval_data, kAny);
  v.field("tokenizer", d.tokenizer, kAny);
  v.field("run_dir", d.run_dir, kAny);
  v.field("steps", d.steps, kNonNegative);
  v.field("seq_len", d.seq_len, kNonNegative);
  v.field("seed", d.seed, kNonNegative);
  v.field("nproc", d.nproc, kPositive);
  v.field("hostfile", d.hostfile, kAny);
  v.field("dtype", d.dtype, kAny);
  v.field("activation_checkpointing", d.activation_checkpointing, kAny);
  v.field("backend", d.backend, kAny);
  v.field("comm_timeout_s", d.comm_timeout_s, kPositive);
  v.field("save_every", d.save_every, kNonNegative);
  v.field("keep_checkpoints", d.keep_checkpoints, kPositive);
  v.field("eval_every", d.eval_every, kNonNegative);
  v.field("resume", d.resume, kAny);
}

/// Every key of Config, top level first, in the order DeepSpeed's docs present them.
template <class V, class C>
void visit_config(V& v, C& c) {
  v.field("train_batch_size", c.train_batch_size, kAutoPositive);
  v.field("train_micro_batch_size_per_gpu", c.train_micro_batch_size_per_gpu, kAutoPositive);
  v.field("gradient_accumulation_steps", c.gradient_accumulation_steps, kAutoPositive);
  v.field("gradient_clipping", c.gradient_clipping, kAutoNonNegative);
  v.field("steps_per_print", c.steps_per_print, kNonNegative);
  v.field("wall_clock_breakdown", c.wall_clock_breakdown, kAny);
  v.field("memory_breakdown", c.memory_breakdown, kAny);
  v.field("dump_state", c.dump_state, kAny);
  v.field("prescale_gradients", c.prescale_gradients, kAny);
  v.field("gradient_predivide_factor", c.gradient_predivide_factor, kNonNegative);
  v.field("communication_data_type", c.communication_data_type, kAny);
  v.field("sparse_gradients", c.sparse_gradients, kAny);
  v.field("zero_allow_untested_optimizer", c.zero_allow_untested_optimizer, kAny);
  v.field("zero_force_ds_cpu_optimizer", c.zero_force_ds_cpu_optimizer, kAny);
  v.field("dataloader_drop_last", c.dataloader_drop_last, kAny);
  v.field("sequence_parallel_size", c.sequence_parallel_size, kPositive);
  if (V::kReads || c.optimizer.type != OptimizerType::kNone) {
    v.section("optimizer", [&](V& sv) { visit_optimizer(sv, c.optimizer); });
  }
  if (V::kReads || c.scheduler.type != SchedulerType::kNone) {
    v.section("scheduler", [&](V& sv) { visit_scheduler(sv, c.scheduler); });
  }
  v.section("fp16", [&](V& sv) { visit_fp16(sv, c.fp16); });
  v.section("bf16", [&](V& sv) { visit_bf16(sv, c.bf16); });
  v.section("zero_optimization", [&](V& sv) { visit_zero(sv, c.zero_optimization); });
  v.section("activation_checkpointing", [&](V& sv) { visit_activation_checkpointing(sv, c.activation_checkpointing); });
  v.section("aio", [&](V& sv) { visit_aio(sv, c.aio); });
  v.section("pipeline", [&](V& sv) { visit_pipeline(sv, c.pipeline); });
  v.section("tensor_parallel", [&](V& sv) { visit_tensor_parallel(sv, c.tensor_parallel); });
  v.section("checkpoint", [&](V& sv) { visit_checkpoint(sv, c.checkpoint); });
  v.section("data_types", [&](V& sv) { sv.field("grad_accum_dtype", c.data_types.grad_accum_dtype, kAny); });
  v.section("flops_profiler", [&](V& sv) { visit_flops_profiler(sv, c.flops_profiler); });
  v.section("ds", [&](V& sv) { visit_ds(sv, c.ds); });
  v.passthrough(kTopLevelPassthrough);
}

}  // namespace ds::configs::detail
