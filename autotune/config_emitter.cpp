#include "autotune/config_emitter.hpp"

#include "configs/validation.hpp"

namespace ds::autotune {
namespace {

using configs::Config;
using estimators::Plan;

configs::OffloadDevice offload(estimators::OffloadDevice d) {
  switch (d) {
    case estimators::OffloadDevice::kCpu: return configs::OffloadDevice::kCpu;
    case estimators::OffloadDevice::kNvme: return configs::OffloadDevice::kNvme;
    case estimators::OffloadDevice::kNone: break;
  }
  return configs::OffloadDevice::kNone;
}

configs::DType dtype(estimators::DType d) {
  switch (d) {
    case estimators::DType::kFp16: return configs::DType::kFp16;
    case estimators::DType::kBf16: return configs::DType::kBf16;
    case estimators::DType::kFp32: break;
  }
  return configs::DType::kFp32;
}

configs::CheckpointPolicy checkpointing(estimators::Checkpointing c) {
  using Kind = configs::CheckpointPolicy::Kind;
  switch (c) {
    case estimators::Checkpointing::kFull: return {Kind::kFull, 0};
    case estimators::Checkpointing::kSelective: return {Kind::kSelective, 0};
    case estimators::Checkpointing::kNone: break;
  }
  return {Kind::kNone, 0};
}

void set_optimizer(Config& c, const Plan& p) {
  using T = configs::OptimizerType;
  T type = p.optimizer == estimators::OptimizerKind::kAdam ? T::kAdam
           : p.optimizer == estimators::OptimizerKind::kSgd ? T::kSGD
                                                              : T::kAdamW;
  c.optimizer.type = type;
  c.optimizer.params = configs::optimizer_defaults(type);
  if (type == T::kSGD && p.sgd_momentum) c.optimizer.params.momentum = 0.9;
  c.provenance.set_keys.insert("optimizer.type");
  c.provenance.set_keys.insert("optimizer.params.lr");
}

void set_zero(Config& c, const Plan& p, const EmitOptions& o) {
  auto& z = c.zero_optimization;
  z.stage = p.zero_stage;
  z.overlap_comm = p.overlap_comm_enabled();
  z.reduce_bucket_size = p.reduce_bucket_size;
  z.allgather_bucket_size = p.allgather_bucket_size;
  z.stage3_prefetch_bucket_size = p.stage3_prefetch_bucket_size;
  z.stage3_max_live_parameters = p.stage3_max_live_parameters;
  z.stage3_param_persistence_threshold = p.stage3_param_persistence_threshold;
  for (const char* key : {"zero_optimization.stage", "zero_optimization.overlap_comm",
                          "zero_optimization.reduce_bucket_size", "zero_optimization.allgather_bucket_size"}) {
    c.provenance.set_keys.insert(key);
  }
  if (p.zero_stage == 3) c.provenance.set_keys.insert("zero_optimization.stage3_prefetch_bucket_size");
  z.offload_optimizer.device = offload(p.offload_optimizer);
  z.offload_param.device = offload(p.offload_param);
  // Pinned host buffers are what ZeRO-Offload's bandwidth figures assume (DeepSpeed tutorials).
  if (p.offload_optimizer != estimators::OffloadDevice::kNone) {
    z.offload_optimizer.pin_memory = true;
    c.provenance.set_keys.insert("zero_optimization.offload_optimizer.device");
  }
  if (p.offload_param != estimators::OffloadDevice::kNone) {
    z.offload_param.pin_memory = true;
    c.provenance.set_keys.insert("zero_optimization.offload_param.device");
  }
  if (p.offload_optimizer == estimators::OffloadDevice::kNvme) z.offload_optimizer.nvme_path = o.nvme_path;
  if (p.offload_param == estimators::OffloadDevice::kNvme) z.offload_param.nvme_path = o.nvme_path;
}

}  // namespace

configs::Config config_from_plan(const Plan& p, const profiles::ClusterSpec& cluster, const EmitOptions& o) {
  Config c;
  c.train_micro_batch_size_per_gpu = p.micro_batch;
  c.gradient_accumulation_steps = p.grad_accum;
  c.train_batch_size = p.micro_batch * p.grad_accum * p.dp;
  for (const char* key : {"train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps"}) {
    c.provenance.set_keys.insert(key);
  }
  c.fp16.enabled = p.dtype == estimators::DType::kFp16;
  c.bf16.enabled = p.dtype == estimators::DType::kBf16;
  c.provenance.set_keys.insert(p.dtype == estimators::DType::kFp16 ? "fp16.enabled" : "bf16.enabled");
  set_optimizer(c, p);
  set_zero(c, p, o);
  if (p.pp > 1) {
    c.pipeline.stages = p.pp;
    c.provenance.set_keys.insert("pipeline.stages");
  }
  if (p.tp > 1) c.tensor_parallel.autotp_size = p.tp;
  if (p.sp > 1) {
    c.sequence_parallel_size = p.sp;
    c.provenance.set_keys.insert("sequence_parallel_size");
  }

  auto& ds = c.ds;
  ds.model = o.model;
  ds.seq_len = p.seq_len;
  ds.nproc = cluster.gpus_per_node;
  ds.dtype = dtype(p.dtype);
  ds.activation_checkpointing = checkpointing(p.checkpointing);
  ds.steps = o.steps;
  ds.data = o.data;
  if (!o.run_dir.empty()) ds.run_dir = o.run_dir;
  for (const char* key : {"ds.seq_len", "ds.nproc", "ds.dtype", "ds.activation_checkpointing"}) {
    c.provenance.set_keys.insert(key);
  }
  configs::validate(c, "tuned config");
  return c;
}

std::string launch_line(const profiles::ClusterSpec& cluster, const std::string& config_path, bool config_has_data) {
  std::string line = "ds train --nproc " + std::to_string(cluster.gpus_per_node);
  if (cluster.nodes > 1) line += " --hostfile hostfile";
  line += " --config " + config_path;
  return config_has_data ? line : line + " --data data/train.bin";
}

}  // namespace ds::autotune
