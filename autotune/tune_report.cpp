#include "autotune/tune_report.hpp"

#include <cmath>
#include <cstdio>

#include "common/table.hpp"
#include "common/units.hpp"
#include "estimators/estimate_json.hpp"
#include "estimators/estimate_report.hpp"

namespace ds::autotune {
namespace {

using Align = Table::Align;
using nlohmann::json;

std::string fixed(double value, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// Seconds with a unit that keeps them readable: "812.0 ms", "1.240 s", "35 us".
std::string seconds(double s) {
  if (s >= 1) return fixed(s, 3) + " s";
  if (s >= 1e-3) return fixed(s * 1e3, 1) + " ms";
  return fixed(s * 1e6, 0) + " us";
}

// "5e8", "2e8", "1.5e7": bucket sizes as people write them in configs.
std::string short_count(std::int64_t n) {
  if (n <= 0) return std::to_string(n);
  int exp = static_cast<int>(std::floor(std::log10(static_cast<double>(n))));
  double mant = static_cast<double>(n) / std::pow(10.0, exp);
  std::string m = std::fabs(mant - std::round(mant)) < 1e-9 ? std::to_string(static_cast<int>(std::round(mant))) : fixed(mant, 1);
  return m + "e" + std::to_string(exp);
}

std::string percent(double fraction) { return fixed(100.0 * fraction, 1) + "%"; }

std::string dominant_cell(const CostEstimate& c) {
  CostTerm d = c.dominant();
  return std::string(cost_term_name(d)) + " " + percent(c.step_time_s > 0 ? c.term(d) / c.step_time_s : 0);
}

std::string pruned_line(const TuneResult& r) {
  std::string out = std::to_string(r.pruned_total()) + " pruned";
  if (!r.pruned.empty()) {
    out += " (";
    bool first = true;
    for (const auto& [reason, n] : r.pruned) {
      out += (first ? "" : ", ") + std::to_string(n) + " " + reason;
      first = false;
    }
    out += ")";
  }
  return out;
}

}  // namespace

std::string plan_label(const estimators::Plan& p) {
  std::string offload(estimators::offload_name(p.offload_optimizer));
  if (p.zero_stage == 3) offload += "/" + std::string(estimators::offload_name(p.offload_param));
  return "zero" + std::to_string(p.zero_stage) + " " + offload + " dp" + std::to_string(p.dp) + ".tp" +
         std::to_string(p.tp) + ".pp" + std::to_string(p.pp) + (p.sp > 1 ? ".sp" + std::to_string(p.sp) : "") + " mb" + std::to_string(p.micro_batch) + "x" +
         std::to_string(p.grad_accum) + " ckpt=" + std::string(estimators::checkpointing_name(p.checkpointing)) + " " +
         std::string(estimators::dtype_name(p.dtype)) + " b=" + short_count(p.reduce_bucket_size);
}

std::string render_tune(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                        const TuneOptions& options, const TuneResult& r) {
  std::string out = "model:   " + estimators::describe_model(model, estimators::count_params(model)) + "\n";
  out += "cluster: " + estimators::describe_cluster(cluster) + "\n";
  out += std::string("engine:  ") +
         (options.space.engine == estimators::Engine::kDs ? "ds (ds train's buffers; ZeRO-3 recomputes every block)"
                                                          : "deepspeed (DeepSpeed's buffers)") +
         "\n";
  out += "search:  " + format_thousands(static_cast<std::uint64_t>(r.raw_combinations)) + " combinations, " +
         format_thousands(static_cast<std::uint64_t>(r.skipped.total())) + " not plans (" +
         std::to_string(r.skipped.zero_offload) + " offload/stage, " + std::to_string(r.skipped.pipeline_zero) +
         " pipeline+ZeRO-2/3, " + std::to_string(r.skipped.global_batch) + " global batch" +
         (r.skipped.engine_recompute > 0
              ? ", " + std::to_string(r.skipped.engine_recompute) + " checkpointing where ds's ZeRO-3 recomputes anyway"
              : std::string()) +
         "), " +
         format_thousands(static_cast<std::uint64_t>(r.candidates)) + " candidates, " + pruned_line(r) + ", " +
         format_thousands(static_cast<std::uint64_t>(r.feasible)) + " ranked by " +
         std::string(objective_name(options.objective)) + " in " + fixed(r.elapsed_s, 3) + " s\n\n";
  const char* mem_unit = cluster.device == profiles::DeviceKind::kCpu ? "rank GiB" : "GPU GiB";
  Table table({"#", "plan", "step", "tokens/s", "MFU", mem_unit, "CPU GiB", "dominant"},
              {Align::kRight, Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
               Align::kLeft});
  int rank = 0;
  for (const auto& rp : r.top) {
    table.add_row({std::to_string(++rank), plan_label(rp.plan), seconds(rp.cost.step_time_s),
                   format_thousands(static_cast<std::uint64_t>(std::llround(rp.cost.tokens_per_s))), percent(rp.cost.mfu),
                   fixed(rp.device_peak_bytes / kGiB, 2), fixed(rp.cpu_peak_bytes_per_node / kGiB, 2),
                   dominant_cell(rp.cost)});
  }
  return out + table.render();
}

std::string render_explain(const TuneResult& r, Objective objective) {
  if (r.top.empty()) return "";
  // Plans with different batches are compared per token: seconds per million tokens of each term.
  const auto per_mtok = [](const RankedPlan& p, double s) { return s * 1e6 / p.cost.tokens_per_step; };
  const auto& best = r.top.front();
  std::vector<std::string> header = {"s per 1M tokens", "#1"};
  std::vector<Align> align = {Align::kLeft, Align::kRight};
  const std::size_t shown = std::min<std::size_t>(r.top.size(), 4);
  for (std::size_t i = 1; i < shown; ++i) {
    header.push_back("#" + std::to_string(i + 1));
    align.push_back(Align::kRight);
  }
  Table table(header, align);
  for (int t = 0; t < kCostTermCount; ++t) {
    bool any = false;
    for (std::size_t i = 0; i < shown; ++i) any = any || r.top[i].cost.term_s[t] > 0;
    if (!any) continue;
    std::vector<std::string> row = {std::string(cost_term_name(static_cast<CostTerm>(t)))};
    for (std::size_t i = 0; i < shown; ++i) row.push_back(fixed(per_mtok(r.top[i], r.top[i].cost.term_s[t]), 3));
    table.add_row(row);
  }
  std::vector<std::string> step = {"step"}, tps = {"tokens/s"}, mem = {"memory GiB"};
  for (std::size_t i = 0; i < shown; ++i) {
    step.push_back(fixed(per_mtok(r.top[i], r.top[i].cost.step_time_s), 3));
    tps.push_back(format_thousands(static_cast<std::uint64_t>(std::llround(r.top[i].cost.tokens_per_s))));
    mem.push_back(fixed(r.top[i].device_peak_bytes / kGiB, 2));
  }
  table.add_row(step);
  table.add_row(tps);
  table.add_row(mem);

  std::string out = "\nwhy #1 (" + plan_label(best.plan) + ") ranks first by " + std::string(objective_name(objective)) + ":\n";
  for (std::size_t i = 1; i < shown; ++i) {
    const auto& other = r.top[i];
    // The terms where #1 saves the most time per token against this plan, and where it pays.
    int gain = 0, loss = 0;
    double most_saved = 0, most_paid = 0;
    for (int t = 0; t < kCostTermCount; ++t) {
      double d = per_mtok(other, other.cost.term_s[t]) - per_mtok(best, best.cost.term_s[t]);
      if (d > most_saved) most_saved = d, gain = t;
      if (-d > most_paid) most_paid = -d, loss = t;
    }
    out += "  vs #" + std::to_string(i + 1) + " (" + plan_label(other.plan) + "): " +
           format_thousands(static_cast<std::uint64_t>(std::llround(best.cost.tokens_per_s))) + " vs " +
           format_thousands(static_cast<std::uint64_t>(std::llround(other.cost.tokens_per_s))) + " tokens/s";
    if (most_saved > 0) {
      out += "; saves " + fixed(most_saved, 3) + " s/1M tokens of " + std::string(cost_term_name(static_cast<CostTerm>(gain)));
    }
    if (most_paid > 0) {
      out += ", pays " + fixed(most_paid, 3) + " s/1M tokens more " + std::string(cost_term_name(static_cast<CostTerm>(loss)));
    }
    if (objective == Objective::kMemory) {
      out += "; memory " + fixed(best.device_peak_bytes / kGiB, 2) + " vs " + fixed(other.device_peak_bytes / kGiB, 2) + " GiB";
    }
    out += "\n";
  }
  return out + "\n" + table.render();
}

json cost_json(const CostEstimate& c) {
  json terms = json::object();
  for (int t = 0; t < kCostTermCount; ++t) terms[std::string(cost_term_name(static_cast<CostTerm>(t)))] = c.term_s[t];
  return {{"terms_s", terms},
          {"step_time_s", c.step_time_s},
          {"tokens_per_step", c.tokens_per_step},
          {"tokens_per_s", c.tokens_per_s},
          {"mfu", c.mfu},
          {"dominant", cost_term_name(c.dominant())}};
}

json ranked_json(const RankedPlan& r) {
  return {{"plan", estimators::plan_json(r.plan)},
          {"label", plan_label(r.plan)},
          {"cost", cost_json(r.cost)},
          {"memory",
           {{"device_peak_bytes", r.device_peak_bytes},
            {"cpu_peak_bytes_per_node", r.cpu_peak_bytes_per_node},
            {"nvme_bytes_per_node", r.nvme_bytes_per_node}}}};
}

json tune_json(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, const TuneOptions& options,
               const TuneResult& r) {
  json top = json::array();
  for (const auto& rp : r.top) top.push_back(ranked_json(rp));
  json pruned = json::object();
  for (const auto& [reason, n] : r.pruned) pruned[reason] = n;
  json coefficients = json::object();
  for (int t = 0; t < kCostTermCount; ++t) {
    coefficients[std::string(cost_term_name(static_cast<CostTerm>(t)))] = options.cost.coefficients.scale[t];
  }
  return {{"model", estimators::model_json(model)},
          {"cluster", estimators::cluster_json(cluster)},
          {"objective", objective_name(options.objective)},
          {"coefficients", coefficients},
          {"raw_combinations", r.raw_combinations},
          {"skipped",
           {{"zero_offload", r.skipped.zero_offload},
            {"pipeline_zero", r.skipped.pipeline_zero},
            {"global_batch", r.skipped.global_batch},
            {"engine_recompute", r.skipped.engine_recompute}}},
          {"engine", estimators::engine_name(options.space.engine)},
          {"memory_scale", options.memory_scale},
          {"candidates", r.candidates},
          {"pruned", pruned},
          {"feasible", r.feasible},
          {"elapsed_s", r.elapsed_s},
          {"top", top}};
}

}  // namespace ds::autotune
