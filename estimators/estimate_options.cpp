#include "estimators/estimate_options.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/units.hpp"
#include "profiles/hardware_presets.hpp"
#include "profiles/profile_facts.hpp"
#include "profiles/store.hpp"

namespace ds::estimators {
namespace {

std::int64_t elements_or(const std::string& text, const char* flag, std::int64_t fallback) {
  return text.empty() ? fallback : static_cast<std::int64_t>(parse_count(text, flag));
}

}  // namespace

ModelSpec resolve_model(const ModelOptions& o) {
  if (!o.params.empty() && !o.model.empty()) {
    throw UsageError(format_error("--params", "cannot be combined with --model", "", "one of them"));
  }
  if (o.params.empty() && o.model.empty()) {
    throw UsageError(format_error("--model", "required", "", "a preset name, a config.json file or a directory holding one",
                                  "or --params 7e9 for a rough model; `ds estimate presets` lists the presets"));
  }
  if (o.model.empty()) {
    RoughModelOptions rough;
    rough.params = parse_count(o.params, "--params");
    if (o.layers > 0) rough.layers = o.layers;
    if (o.hidden > 0) rough.hidden = o.hidden;
    if (o.seq > 0) rough.seq = o.seq;
    return rough_model_spec(rough);
  }
  return load_model_spec(o.model, "--model");
}

profiles::ClusterSpec resolve_cluster(const ClusterOptions& o) {
  profiles::ClusterOverrides overrides;
  if (o.nodes != 0) overrides.nodes = o.nodes;
  if (o.gpus_per_node != 0) overrides.gpus_per_node = o.gpus_per_node;
  if (!o.gpu_mem.empty()) overrides.device_memory_bytes = parse_bytes(o.gpu_mem, "--gpu-mem");
  if (!o.cpu_mem.empty()) overrides.cpu_memory_per_node_bytes = parse_bytes(o.cpu_mem, "--cpu-mem");
  if (!o.nvme.empty()) overrides.nvme_bytes_per_node = parse_bytes(o.nvme, "--nvme");
  if (o.profile.empty()) return profiles::apply_overrides(profiles::hardware_preset(o.gpu, "--gpu"), overrides);
  // Measured rates and memory of a stored profile (possibly imported from the GPU node).
  profiles::Store store(profiles::resolve_db_path(o.db_path));
  profiles::ProfileFacts facts = profiles::facts_from_profile(profiles::load_profile(store, o.profile));
  return profiles::apply_overrides(profiles::cluster_from_profile(facts), overrides);
}

Plan resolve_plan(const PlanOptions& o, const ModelSpec& model, const profiles::ClusterSpec& cluster) {
  const int world = cluster.world_size();
  Plan p;
  p.zero_stage = o.stage;
  p.offload_optimizer = parse_offload(o.offload_optimizer, "--offload-optimizer");
  p.offload_param = parse_offload(o.offload_param, "--offload-param");
  p.offload_optimizer_ratio = o.offload_ratio;
  p.sub_group_size = elements_or(o.sub_group_size, "--sub-group-size", p.sub_group_size);
  p.dtype = parse_dtype(o.dtype, "--dtype");
  parse_optimizer(o.optimizer, "--optimizer", p);
  p.checkpointing = parse_checkpointing(o.checkpointing, "--checkpointing");
  p.micro_batch = o.micro_batch;
  p.grad_accum = o.grad_accum;
  p.seq_len = o.seq_len > 0 ? o.seq_len : std::min<std::int64_t>(model.max_seq, 4096);
  p.tp = o.tp;
  p.pp = o.pp;
  p.sp = o.sp;
  // Fill the cluster with data parallelism unless told otherwise.
  p.dp = o.dp > 0 ? o.dp : std::max(1, world / std::max(1, o.tp * o.pp * o.sp));
  p.sequence_parallel = o.sequence_parallel;
  // The engine's CPU path materialises the attention scores (no fused kernel in LibTorch 1.13).
  p.fused_attention = o.fused_attention && cluster.device == profiles::DeviceKind::kGpu;
  p.reduce_bucket_size = elements_or(o.reduce_bucket_size, "--reduce-bucket-size", p.reduce_bucket_size);
  p.allgather_bucket_size = elements_or(o.allgather_bucket_size, "--allgather-bucket-size", p.allgather_bucket_size);
  p.stage3_prefetch_bucket_size =
      elements_or(o.prefetch_bucket_size, "--prefetch-bucket-size", p.stage3_prefetch_bucket_size);
  p.stage3_max_live_parameters =
      elements_or(o.max_live_parameters, "--max-live-parameters", p.stage3_max_live_parameters);
  p.stage3_param_persistence_threshold =
      elements_or(o.param_persistence_threshold, "--param-persistence-threshold", p.stage3_param_persistence_threshold);
  p.engine = parse_engine(o.engine, "--engine");
  if (o.overlap_comm == "true") p.overlap_comm = true;
  else if (o.overlap_comm == "false") p.overlap_comm = false;
  else if (o.overlap_comm != "auto") {
    throw UsageError(format_error("--overlap-comm", "unknown value", "'" + o.overlap_comm + "'", "true, false or auto"));
  }
  // ds's engine recomputes every block at sharded ZeRO-3, whatever --checkpointing says.
  return p.engine == Engine::kDs ? as_run_by_ds(p) : p;
}

}  // namespace ds::estimators
