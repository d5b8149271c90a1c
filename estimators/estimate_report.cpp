#include "estimators/estimate_report.hpp"

#include <algorithm>
#include <cstdio>

#include "common/table.hpp"
#include "common/units.hpp"
#include "estimators/presets.hpp"
#include "profiles/hardware_presets.hpp"

namespace ds::estimators {
namespace {

using Align = Table::Align;

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", bytes / kGiB);
  return buf;
}

std::string count(std::int64_t n) {
  return n < 0 ? "-" + format_thousands(static_cast<std::uint64_t>(-n)) : format_thousands(static_cast<std::uint64_t>(n));
}

std::string offload_cell(const Plan& p) {
  std::string out(offload_name(p.offload_optimizer));
  if (p.zero_stage == 3) out += " / " + std::string(offload_name(p.offload_param));
  return out;
}

const std::vector<Category>& category_order() {
  static const std::vector<Category> order = {
      Category::kParams,          Category::kMasterParams, Category::kGradients,       Category::kGradAccumFp32,
      Category::kOptimizerStates, Category::kActivations,  Category::kLogitsAndLoss,   Category::kCommBuckets,
      Category::kGatheredParams,  Category::kStepTemporaries, Category::kSwapBuffers, Category::kRuntime,
      Category::kFragmentation};
  return order;
}

std::string fit_line(const profiles::ClusterSpec& cluster, const FitCheck& fit, std::int64_t largest_micro_batch) {
  std::string where = cluster.device == profiles::DeviceKind::kCpu ? "per rank" : "per device";
  std::string out = fit.fits ? "fits: yes, " + gib(fit.device_headroom_bytes) + " GiB headroom " + where
                             : "fits: no, " + fit.limit + " memory exceeded (device headroom " +
                                   gib(fit.device_headroom_bytes) + " GiB, CPU headroom " + gib(fit.cpu_headroom_bytes) +
                                   " GiB per node)";
  return out + "; largest micro-batch that fits: " + std::to_string(largest_micro_batch) + "\n";
}

}  // namespace

std::string describe_model(const ModelSpec& m, const ParamCount& c) {
  std::string out = m.name + " (" + std::string(family_name(m.family)) + "): " + count(c.total) + " params (" +
                    format_count(static_cast<double>(c.total)) + "); " + std::to_string(m.layers) + " layers, hidden " +
                    std::to_string(m.hidden) + ", " + std::to_string(m.heads) + " heads / " + std::to_string(m.kv_heads) +
                    " kv, ffn " + std::to_string(m.ffn) + ", vocab " + std::to_string(m.vocab);
  if (m.is_moe()) out += ", " + std::to_string(m.num_experts) + " experts (top " + std::to_string(m.experts_per_token) + ")";
  return out;
}

std::string describe_cluster(const profiles::ClusterSpec& c) {
  std::string unit = c.device == profiles::DeviceKind::kCpu ? " CPU rank" : " x " + c.device_name;
  return std::to_string(c.nodes) + (c.nodes == 1 ? " node" : " nodes") + " x " + std::to_string(c.gpus_per_node) + unit +
         " (" + gib(c.device_memory_bytes) + " GiB each), " + gib(c.cpu_memory_per_node_bytes) + " GiB CPU and " +
         gib(c.nvme_bytes_per_node) + " GiB NVMe per node [" + (c.is_preset ? "preset " : "profile ") + c.source + "]";
}

std::string describe_plan(const Plan& p) {
  std::string opt = p.optimizer == OptimizerKind::kSgd && p.sgd_momentum ? "sgd-momentum" : std::string(optimizer_name(p.optimizer));
  return std::string(dtype_name(p.dtype)) + " " + opt + ", micro-batch " + std::to_string(p.micro_batch) + " x seq " +
         std::to_string(p.seq_len) + ", grad-accum " + std::to_string(p.grad_accum) + ", dp " + std::to_string(p.dp) +
         " tp " + std::to_string(p.tp) + " pp " + std::to_string(p.pp) + " sp " + std::to_string(p.sp) +
         ", checkpointing " + std::string(checkpointing_name(p.checkpointing)) + ", " +
         (p.fused_attention ? "fused attention" : "unfused attention") +
         (p.engine == Engine::kDs ? ", ds engine's buffers" : "");
}

std::string render_params(const ModelSpec& model, const ParamCount& c) {
  Table table({"module", "per instance", "x", "total"}, {Align::kLeft, Align::kRight, Align::kRight, Align::kRight});
  for (const auto& m : c.modules) {
    table.add_row({m.name, count(m.per_instance()), std::to_string(m.instances), count(m.total())});
  }
  Table groups({"group", "params", "share"}, {Align::kLeft, Align::kRight, Align::kRight});
  std::vector<std::string> seen;
  for (const auto& m : c.modules) {
    if (std::find(seen.begin(), seen.end(), m.group) != seen.end()) continue;
    seen.push_back(m.group);
    char share[16];
    std::snprintf(share, sizeof share, "%.2f%%", 100.0 * static_cast<double>(c.group_total(m.group)) / c.total);
    groups.add_row({m.group, count(c.group_total(m.group)), share});
  }
  std::string out = describe_model(model, c) + "\n\n" + table.render() + "\n" + groups.render() + "\n";
  if (c.tied_embeddings) out += "lm_head is tied to the input embedding (counted once)\n";
  out += "total " + count(c.total) + ", per layer " + count(c.per_layer) + ", largest module " + count(c.largest_module);
  if (c.active_per_token != c.total) out += ", active per token " + count(c.active_per_token);
  return out + "\n";
}

std::string render_memory_table(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& base,
                                const std::vector<TableRow>& rows) {
  Table table({"stage", "offload opt / param", "per device GiB", "CPU/node GiB", "NVMe/node GiB", "fits", "headroom GiB",
               "max micro-batch"},
              {Align::kRight, Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kLeft, Align::kRight,
               Align::kRight});
  std::string notes;
  for (const auto& r : rows) {
    std::string stage = std::to_string(r.plan.zero_stage);
    if (!r.problems.empty()) {
      table.add_row({stage, offload_cell(r.plan), "-", "-", "-", "n/a", "-", "-"});
      notes += "  stage " + stage + " " + offload_cell(r.plan) + ": " + r.problems.front() + "\n";
      continue;
    }
    table.add_row({stage, offload_cell(r.plan), gib(r.estimate.device_peak_bytes), gib(r.estimate.cpu_peak_bytes_per_node),
                   gib(r.estimate.nvme_bytes_per_node), r.fit.fits ? "yes" : "no (" + r.fit.limit + ")",
                   gib(r.fit.device_headroom_bytes), std::to_string(r.largest_micro_batch)});
  }
  std::string out = "model:   " + describe_model(model, count_params(model)) + "\ncluster: " + describe_cluster(cluster) +
                    "\nplan:    " + describe_plan(base) + "\n\n" + table.render();
  if (!notes.empty()) out += "\nnot possible:\n" + notes;
  return out;
}

std::string render_breakdown(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& plan,
                             const MemoryEstimate& e, const FitCheck& fit, std::int64_t largest_micro_batch) {
  Table table({"category", "device GiB", "CPU/node GiB", "NVMe/node GiB", "phase", "how"},
              {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kLeft, Align::kLeft});
  for (Category c : category_order()) {
    for (const auto& i : e.items) {
      if (i.category != c || (i.bytes == 0 && c != Category::kActivations)) continue;
      auto cell = [&i](Location l) { return i.location == l ? gib(i.bytes) : std::string("-"); };
      table.add_row({std::string(category_name(c)), cell(Location::kDevice), cell(Location::kCpu), cell(Location::kNvme),
                     std::string(phase_name(i.phase)), i.detail});
    }
  }
  table.add_row({"peak", gib(e.device_peak_bytes), gib(e.cpu_peak_bytes_per_node), gib(e.nvme_bytes_per_node), "", ""});
  std::string out = "model:   " + describe_model(model, count_params(model)) + "\ncluster: " + describe_cluster(cluster) +
                    "\nplan:    ZeRO stage " + std::to_string(plan.zero_stage) + ", offload optimizer " +
                    std::string(offload_name(plan.offload_optimizer)) + ", offload param " +
                    std::string(offload_name(plan.offload_param)) + ", " + describe_plan(plan) + "\n\n";
  return out + table.render() + "\n" + fit_line(cluster, fit, largest_micro_batch);
}

std::string render_deepspeed_formula(const ModelSpec& model, const DeepSpeedFormulaInput& in,
                                     const std::vector<DeepSpeedFormulaRow>& rows) {
  Table table({"stage", "per CPU GiB", "per GPU GiB", "options"}, {Align::kRight, Align::kRight, Align::kRight, Align::kLeft});
  for (const auto& r : rows) {
    std::string options = "offload_optimizer=" + std::string(r.offload_optimizer ? "cpu" : "none");
    if (r.stage == 3) {
      options = "offload_param=" + std::string(r.offload_param ? "cpu" : "none") + ", " + options +
                ", zero_init=" + (r.zero_init ? "1" : "0");
    }
    table.add_row({std::to_string(r.stage), gib(static_cast<double>(r.cpu_bytes)), gib(static_cast<double>(r.gpu_bytes)),
                   options});
  }
  char factor[32];
  std::snprintf(factor, sizeof factor, "%g", in.additional_buffer_factor);
  return "DeepSpeed's model-states formulas (estimate_zero2/zero3_model_states_mem_needs), model states only\n"
         "model: " + model.name + ", " + count(in.total_params) + " total params, " + count(in.largest_layer_params) +
         " largest layer params\nhardware: " + std::to_string(in.nodes) + " node(s) x " + std::to_string(in.gpus_per_node) +
         " GPU(s), additional_buffer_factor " + factor + "\n\n" + table.render();
}

std::string render_presets() {
  Table models({"model preset", "family", "params", "layers", "hidden", "heads/kv", "vocab", "source"},
               {Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
                Align::kLeft});
  for (const auto& p : model_presets()) {
    const auto& s = p.spec;
    models.add_row({s.name, std::string(family_name(s.family)), count(count_params(s).total), std::to_string(s.layers),
                    std::to_string(s.hidden), std::to_string(s.heads) + "/" + std::to_string(s.kv_heads),
                    std::to_string(s.vocab), p.source});
  }
  Table hardware({"hardware preset", "device GiB", "per node", "CPU GiB/node", "description"},
                 {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kLeft});
  for (const auto& p : profiles::hardware_presets()) {
    hardware.add_row({p.spec.source, gib(p.spec.device_memory_bytes), std::to_string(p.spec.gpus_per_node),
                      gib(p.spec.cpu_memory_per_node_bytes), p.description});
  }
  return models.render() + "\n" + hardware.render();
}

}  // namespace ds::estimators
