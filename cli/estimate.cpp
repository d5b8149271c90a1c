// `ds estimate memory` (will this plan fit?), `ds estimate params` (where are the parameters?)
// and `ds estimate presets` (which names --model and --gpu take).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli_context.hpp"
#include "cli/model_cluster_flags.hpp"
#include "configs/config_io.hpp"
#include "estimators/deepspeed_formula.hpp"
#include "estimators/estimate_json.hpp"
#include "estimators/estimate_options.hpp"
#include "estimators/estimate_report.hpp"
#include "estimators/plan_from_config.hpp"
#include "estimators/presets.hpp"
#include "profiles/hardware_presets.hpp"

namespace ds::cli {
namespace {

using namespace ds::estimators;

struct MemoryFlags {
  ModelOptions model;
  ClusterOptions cluster;
  PlanOptions plan;
  std::string config;  ///< a DeepSpeed config (JSON or TOML) to take the plan from
  int stage = -1;  ///< -1: the table over stages
  bool one_plan = false, unfused_attention = false, deepspeed_formula = false;
  double buffer_factor = 1.5;
};

void print(const std::string& text) { std::fputs(text.c_str(), stdout); }
void print(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

void run_memory(MemoryFlags f, bool json) {
  ModelSpec model = resolve_model(f.model);
  profiles::ClusterSpec cluster = resolve_cluster(f.cluster);
  if (f.deepspeed_formula) {
    auto in = deepspeed_formula_input(model, cluster.gpus_per_node, cluster.nodes, f.buffer_factor);
    auto rows = deepspeed_formula_table(in);
    json ? print(deepspeed_json(in, rows)) : print(render_deepspeed_formula(model, in, rows));
    return;
  }
  f.plan.stage = std::max(f.stage, 0);
  f.plan.seq_len = f.model.seq;
  f.plan.fused_attention = !f.unfused_attention;
  Plan plan = f.config.empty() ? resolve_plan(f.plan, model, cluster)
                                : plan_from_config(configs::load_config(f.config), model, cluster.world_size(), f.config);
  plan.engine = parse_engine(f.plan.engine, "--engine");
  if (f.stage < 0 && !f.one_plan && f.config.empty()) {
    auto rows = estimate_table(model, cluster, plan);
    json ? print(table_json(model, cluster, plan, rows)) : print(render_memory_table(model, cluster, plan, rows));
    return;
  }
  MemoryEstimate est = estimate_memory(model, cluster, plan);
  FitCheck fit = check_fit(est, cluster);
  std::int64_t mb = largest_micro_batch(model, count_params(model), cluster, plan);
  json ? print(breakdown_json(model, cluster, plan, est, fit, mb))
       : print(render_breakdown(model, cluster, plan, est, fit, mb));
}

void add_plan_flags(CLI::App* sub, MemoryFlags& f) {
  PlanOptions& p = f.plan;
  sub->add_option("--stage", f.stage, "ZeRO stage 0-3: show the category breakdown of this one plan")
      ->check(CLI::Range(0, 3));
  sub->add_flag("--plan", f.one_plan, "Show the category breakdown of the plan the flags describe (stage default 0)");
  sub->add_option("--config", f.config, "Take the plan from a DeepSpeed config (.json or .toml; \"auto\" resolved)")
      ->excludes(sub->get_option("--plan"));
  sub->add_option("--offload-optimizer", p.offload_optimizer, "none | cpu | nvme")->capture_default_str();
  sub->add_option("--offload-param", p.offload_param, "none | cpu | nvme (stage 3)")->capture_default_str();
  sub->add_option("--offload-ratio", p.offload_ratio,
                  "Fraction of the optimizer offloaded (offload_optimizer.ratio; < 1 needs stage 3)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--sub-group-size", p.sub_group_size, "Elements per optimizer sub-group (default 1e9)");
  sub->add_option("--dtype", p.dtype, "fp32 | fp16 | bf16")->capture_default_str();
  sub->add_option("--optimizer", p.optimizer, "adam | adamw | sgd | sgd-momentum")->capture_default_str();
  sub->add_option("--micro-batch", p.micro_batch, "Sequences per device per step")->capture_default_str();
  sub->add_option("--grad-accum", p.grad_accum, "Micro-batches per optimizer step")->capture_default_str();
  sub->add_option("--checkpointing", p.checkpointing, "Activation checkpointing: none | selective | full")
      ->capture_default_str();
  sub->add_option("--dp", p.dp, "Data-parallel degree (default: ranks / (tp*pp*sp))");
  sub->add_option("--tp", p.tp, "Tensor-parallel degree")->capture_default_str();
  sub->add_option("--pp", p.pp, "Pipeline stages")->capture_default_str();
  sub->add_option("--sp", p.sp, "Sequence-parallel degree (DeepSpeed-Ulysses)")->capture_default_str();
  sub->add_flag("--sequence-parallel", p.sequence_parallel, "Megatron sequence parallelism within the tp group");
  sub->add_flag("--no-fused-attention", f.unfused_attention, "Attention materialises the s x s scores");
  sub->add_option("--reduce-bucket-size", p.reduce_bucket_size, "Elements per gradient bucket (default 5e8)");
  sub->add_option("--allgather-bucket-size", p.allgather_bucket_size, "Elements per all-gather bucket (default 5e8)");
  sub->add_option("--prefetch-bucket-size", p.prefetch_bucket_size, "Stage 3 prefetch elements (default 5e7)");
  sub->add_option("--max-live-parameters", p.max_live_parameters, "Stage 3 live elements (default 1e9)");
  sub->add_option("--param-persistence-threshold", p.param_persistence_threshold,
                  "Stage 3 persistence threshold (default 1e5)");
  sub->add_option("--engine", p.engine,
                  "deepspeed | ds: price DeepSpeed's ZeRO buffers or those of ds train's own engine")
      ->capture_default_str();
  sub->add_option("--overlap-comm", p.overlap_comm, "true | false | auto (auto: true for stage 3)")
      ->check(CLI::IsMember({"true", "false", "auto"}))
      ->capture_default_str();
}

void register_memory(CLI::App& estimate, GlobalOptions& global) {
  auto f = std::make_shared<MemoryFlags>();
  auto* sub = estimate.add_subcommand("memory", "Peak memory per GPU, per node's CPU and NVMe, by ZeRO stage and offload");
  add_model_flags(sub, f->model);
  add_cluster_flags(sub, f->cluster);
  add_plan_flags(sub, *f);
  sub->add_flag("--deepspeed-formula", f->deepspeed_formula, "Print DeepSpeed's model-states formulas instead");
  sub->add_option("--additional-buffer-factor", f->buffer_factor, "DeepSpeed formula buffer factor")
      ->capture_default_str();
  sub->callback([f, &global] {
    f->cluster.db_path = global.db_path;
    run_memory(*f, global.json);
  });
}

void register_params(CLI::App& estimate, GlobalOptions& global) {
  auto f = std::make_shared<ModelOptions>();
  auto* sub = estimate.add_subcommand("params", "Exact parameter count with a per-module breakdown");
  add_model_flags(sub, *f);
  sub->callback([f, &global] {
    ModelSpec model = resolve_model(*f);
    ParamCount count = count_params(model);
    global.json ? print(params_json(model, count)) : print(render_params(model, count));
  });
}

void register_presets(CLI::App& estimate, GlobalOptions& global) {
  auto* sub = estimate.add_subcommand("presets", "List the model and hardware presets");
  sub->callback([&global] {
    if (!global.json) return print(render_presets());
    nlohmann::json models = nlohmann::json::array();
    for (const auto& p : model_presets()) {
      auto m = model_json(p.spec);
      m["params"] = count_params(p.spec).total;
      m["source"] = p.source;
      models.push_back(m);
    }
    nlohmann::json hardware = nlohmann::json::array();
    for (const auto& p : profiles::hardware_presets()) hardware.push_back(cluster_json(p.spec));
    print(nlohmann::json{{"models", models}, {"hardware", hardware}});
  });
}

}  // namespace

void register_estimate(CLI::App& app, GlobalOptions& global) {
  auto* estimate = app.add_subcommand("estimate", "Estimate parameters and peak memory of a training run");
  estimate->require_subcommand(1);
  register_memory(*estimate, global);
  register_params(*estimate, global);
  register_presets(*estimate, global);
}

}  // namespace ds::cli
