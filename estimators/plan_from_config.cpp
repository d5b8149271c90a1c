#include "estimators/plan_from_config.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "configs/auto_resolve.hpp"
#include "configs/batch.hpp"

namespace ds::estimators {
namespace {

OffloadDevice offload_of(configs::OffloadDevice d) {
  switch (d) {
    case configs::OffloadDevice::kNone: return OffloadDevice::kNone;
    case configs::OffloadDevice::kCpu: return OffloadDevice::kCpu;
    case configs::OffloadDevice::kNvme: return OffloadDevice::kNvme;
  }
  return OffloadDevice::kNone;
}

DType dtype_of(configs::DType d) {
  switch (d) {
    case configs::DType::kFp32: return DType::kFp32;
    case configs::DType::kFp16: return DType::kFp16;
    case configs::DType::kBf16: return DType::kBf16;
  }
  return DType::kFp32;
}

// Optimizers by the fp32 state they keep per parameter (what memory depends on).
void set_optimizer(const configs::OptimizerConfig& o, Plan& plan) {
  using T = configs::OptimizerType;
  switch (o.type) {
    case T::kNone:  // the trainer's default
    case T::kAdamW: plan.optimizer = OptimizerKind::kAdamW; return;
    case T::kAdam:
    case T::kLamb:
    case T::kOneBitAdam:
    case T::kZeroOneAdam:
    case T::kOneBitLamb: plan.optimizer = OptimizerKind::kAdam; return;
    case T::kLion:
    case T::kAdagrad:
      plan.optimizer = OptimizerKind::kSgd;
      plan.sgd_momentum = true;
      return;
    case T::kSGD:
      plan.optimizer = OptimizerKind::kSgd;
      plan.sgd_momentum = o.params.momentum > 0;
      return;
  }
}

Checkpointing checkpointing_of(const configs::CheckpointPolicy& policy) {
  using K = configs::CheckpointPolicy::Kind;
  switch (policy.kind) {
    case K::kNone: return Checkpointing::kNone;
    case K::kSelective: return Checkpointing::kSelective;
    case K::kFull: return Checkpointing::kFull;
    case K::kEveryN: return Checkpointing::kFull;  // on every N-th block: plan.checkpoint_every
  }
  return Checkpointing::kNone;
}

}  // namespace

Plan plan_from_config(const configs::Config& input, const ModelSpec& model, int world, const std::string& source) {
  Plan p;
  p.tp = input.tensor_parallel.autotp_size > 0 ? input.tensor_parallel.autotp_size : input.tensor_parallel.tp_size;
  p.pp = input.pipeline.stages.value_or(1);
  p.sp = input.sequence_parallel_size;
  p.dp = std::max(1, world / std::max(1, p.tp * p.pp * p.sp));

  configs::AutoContext context;
  context.hidden_size = model.hidden;
  context.dp_size = p.dp;
  context.pipeline_stages = p.pp;
  // The learning-rate schedule does not change memory; any run length resolves its "auto".
  if (input.ds.steps <= 0) context.total_steps = 1;
  context.source_name = source;
  configs::Config config = input.has_auto() ? configs::resolve_auto(input, context) : input;
  configs::ResolvedBatch batch = configs::resolve_batch(config, p.dp, source);

  const auto& z = config.zero_optimization;
  p.zero_stage = z.stage;
  p.offload_optimizer = offload_of(z.offload_optimizer.device);
  p.offload_param = offload_of(z.offload_param.device);
  p.offload_optimizer_ratio = z.offload_optimizer.ratio;
  p.dtype = dtype_of(configs::compute_dtype(config));
  set_optimizer(config.optimizer, p);
  p.micro_batch = batch.train_micro_batch_size_per_gpu;
  p.grad_accum = batch.gradient_accumulation_steps;
  p.seq_len = config.ds.seq_len > 0 ? config.ds.seq_len : model.max_seq;
  p.checkpointing = checkpointing_of(config.ds.activation_checkpointing);
  if (config.ds.activation_checkpointing.kind == configs::CheckpointPolicy::Kind::kEveryN) {
    p.checkpoint_every = std::max(1, config.ds.activation_checkpointing.every_n);
  }
  p.reduce_bucket_size = z.reduce_bucket_size;
  p.allgather_bucket_size = z.allgather_bucket_size;
  p.stage3_prefetch_bucket_size = z.stage3_prefetch_bucket_size;
  p.stage3_max_live_parameters = z.stage3_max_live_parameters;
  p.stage3_param_persistence_threshold = z.stage3_param_persistence_threshold;
  p.overlap_comm = z.overlap_comm;
  p.sub_group_size = z.sub_group_size;
  p.nvme_optimizer_buffers = z.offload_optimizer.buffer_count;
  p.nvme_param_buffers = z.offload_param.buffer_count;
  p.nvme_param_buffer_size = z.offload_param.buffer_size;
  if (config.data_types.grad_accum_dtype) {
    p.fp32_grad_accumulation = *config.data_types.grad_accum_dtype == configs::DType::kFp32;
  }
  return p;
}

}  // namespace ds::estimators
