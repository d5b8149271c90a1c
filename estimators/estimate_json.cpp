#include "estimators/estimate_json.hpp"

namespace ds::estimators {

using nlohmann::json;

json model_json(const ModelSpec& m) {
  json j = {{"name", m.name},
            {"family", family_name(m.family)},
            {"layers", m.layers},
            {"hidden", m.hidden},
            {"heads", m.heads},
            {"kv_heads", m.kv_heads},
            {"head_dim", m.head_dim},
            {"ffn", m.ffn},
            {"vocab", m.vocab},
            {"max_seq", m.max_seq},
            {"tied_embeddings", m.tied_embeddings},
            {"num_experts", m.num_experts},
            {"experts_per_token", m.experts_per_token},
            {"rope_theta", m.rope_theta}};
  if (!m.rope_scaling.type.empty()) {
    j["rope_scaling"] = {{"type", m.rope_scaling.type}, {"factor", m.rope_scaling.factor}};
  }
  return j;
}

json params_json(const ModelSpec& model, const ParamCount& c) {
  json modules = json::array();
  json groups = json::object();
  for (const auto& m : c.modules) {
    modules.push_back({{"name", m.name},
                       {"group", m.group},
                       {"weight", m.weight},
                       {"bias", m.bias},
                       {"instances", m.instances},
                       {"total", m.total()}});
    groups[m.group] = groups.value(m.group, std::int64_t{0}) + m.total();
  }
  return {{"model", model_json(model)},   {"total", c.total},
          {"per_layer", c.per_layer},     {"largest_module", c.largest_module},
          {"active_per_token", c.active_per_token}, {"tied_embeddings", c.tied_embeddings},
          {"groups", groups},             {"modules", modules}};
}

json cluster_json(const profiles::ClusterSpec& c) {
  json j = {{"source", c.source},
            {"is_preset", c.is_preset},
            {"device", profiles::device_kind_name(c.device)},
            {"device_name", c.device_name},
            {"nodes", c.nodes},
            {"gpus_per_node", c.gpus_per_node},
            {"device_memory_bytes", c.device_memory_bytes},
            {"cpu_memory_per_node_bytes", c.cpu_memory_per_node_bytes},
            {"nvme_bytes_per_node", c.nvme_bytes_per_node}};
  return j;
}

json plan_json(const Plan& p) {
  return {{"zero_stage", p.zero_stage},
          {"offload_optimizer", offload_name(p.offload_optimizer)},
          {"offload_param", offload_name(p.offload_param)},
          {"offload_optimizer_ratio", p.offload_optimizer_ratio},
          {"sub_group_size", p.sub_group_size},
          {"dtype", dtype_name(p.dtype)},
          {"optimizer", p.optimizer == OptimizerKind::kSgd && p.sgd_momentum ? "sgd-momentum"
                                                                            : std::string(optimizer_name(p.optimizer))},
          {"micro_batch", p.micro_batch},
          {"seq_len", p.seq_len},
          {"grad_accum", p.grad_accum},
          {"checkpointing", checkpointing_name(p.checkpointing)},
          {"dp", p.dp},
          {"tp", p.tp},
          {"pp", p.pp},
          {"sp", p.sp},
          {"sequence_parallel", p.sequence_parallel},
          {"reduce_bucket_size", p.reduce_bucket_size},
          {"allgather_bucket_size", p.allgather_bucket_size},
          {"stage3_prefetch_bucket_size", p.stage3_prefetch_bucket_size},
          {"stage3_max_live_parameters", p.stage3_max_live_parameters},
          {"stage3_param_persistence_threshold", p.stage3_param_persistence_threshold},
          {"overlap_comm", p.overlap_comm_enabled()},
          {"fused_attention", p.fused_attention},
          {"engine", engine_name(p.engine)},
          {"fp32_grad_accumulation", p.fp32_grad_accumulation_enabled()}};
}

json estimate_json(const MemoryEstimate& e) {
  json items = json::array();
  json by = {{"device", json::object()}, {"cpu", json::object()}, {"nvme", json::object()}};
  for (const auto& i : e.items) {
    std::string cat(category_name(i.category));
    std::string loc(location_name(i.location));
    items.push_back({{"category", cat},
                     {"location", loc},
                     {"phase", phase_name(i.phase)},
                     {"bytes", i.bytes},
                     {"detail", i.detail}});
    by[loc][cat] = by[loc].value(cat, 0.0) + i.bytes;
  }
  return {{"device_peak_bytes", e.device_peak_bytes},
          {"cpu_peak_bytes_per_node", e.cpu_peak_bytes_per_node},
          {"nvme_bytes_per_node", e.nvme_bytes_per_node},
          {"ranks_per_node", e.ranks_per_node},
          {"by_category", by},
          {"items", items}};
}

json fit_json(const FitCheck& f) {
  return {{"fits", f.fits},
          {"limit", f.limit},
          {"device_headroom_bytes", f.device_headroom_bytes},
          {"cpu_headroom_bytes", f.cpu_headroom_bytes},
          {"nvme_headroom_bytes", f.nvme_headroom_bytes}};
}

json table_json(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& base,
                const std::vector<TableRow>& rows) {
  json out = json::array();
  for (const auto& r : rows) {
    json row = {{"zero_stage", r.plan.zero_stage},
                {"offload_optimizer", offload_name(r.plan.offload_optimizer)},
                {"offload_param", offload_name(r.plan.offload_param)},
                {"problems", r.problems}};
    if (r.problems.empty()) {
      row["device_bytes"] = r.estimate.device_peak_bytes;
      row["cpu_bytes_per_node"] = r.estimate.cpu_peak_bytes_per_node;
      row["nvme_bytes_per_node"] = r.estimate.nvme_bytes_per_node;
      row["fits"] = r.fit.fits;
      row["limit"] = r.fit.limit;
      row["headroom_bytes"] = r.fit.device_headroom_bytes;
      row["largest_micro_batch"] = r.largest_micro_batch;
    }
    out.push_back(row);
  }
  ParamCount count = count_params(model);
  json m = model_json(model);
  m["params"] = count.total;
  return {{"model", m}, {"cluster", cluster_json(cluster)}, {"plan", plan_json(base)}, {"rows", out}};
}

json breakdown_json(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& plan,
                    const MemoryEstimate& estimate, const FitCheck& fit, std::int64_t largest_micro_batch) {
  json m = model_json(model);
  m["params"] = count_params(model).total;
  return {{"model", m},
          {"cluster", cluster_json(cluster)},
          {"plan", plan_json(plan)},
          {"estimate", estimate_json(estimate)},
          {"fit", fit_json(fit)},
          {"largest_micro_batch", largest_micro_batch}};
}

json deepspeed_json(const DeepSpeedFormulaInput& in, const std::vector<DeepSpeedFormulaRow>& rows) {
  json out = json::array();
  for (const auto& r : rows) {
    out.push_back({{"stage", r.stage},
                   {"offload_optimizer", r.offload_optimizer ? "cpu" : "none"},
                   {"offload_param", r.offload_param ? "cpu" : "none"},
                   {"zero_init", r.zero_init},
                   {"cpu_bytes", r.cpu_bytes},
                   {"gpu_bytes", r.gpu_bytes}});
  }
  return {{"input",
           {{"total_params", in.total_params},
            {"largest_layer_params", in.largest_layer_params},
            {"gpus_per_node", in.gpus_per_node},
            {"nodes", in.nodes},
            {"additional_buffer_factor", in.additional_buffer_factor}}},
          {"rows", out}};
}

}  // namespace ds::estimators
