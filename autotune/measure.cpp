#include "autotune/measure.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autotune/calibration_store.hpp"
#include "autotune/tune_report.hpp"
#include "common/error.hpp"
#include "common/table.hpp"
#include "estimators/estimate_json.hpp"
#include "profiles/store.hpp"
#include "profiles/trials.hpp"

namespace ds::autotune {
namespace {

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A run `ds train` did not record (it died before its summary): recorded here so the failure is
// kept with its plan.
void record_failure(profiles::Store& store, const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                    const RankedPlan& ranked, const MeasuredRun& run, const MeasureOptions& o) {
  profiles::Trial t;
  t.source = "tune";
  t.status = run.status;
  t.model = o.emit.model;
  t.model_json = estimators::model_json(model);
  t.plan_json = estimators::plan_json(ranked.plan);
  t.machine_fingerprint = o.machine_fingerprint;
  t.device = cluster.device == profiles::DeviceKind::kCpu ? "cpu" : "cuda";
  t.world_size = ranked.plan.world();
  t.micro_batch = ranked.plan.micro_batch;
  t.grad_accum = ranked.plan.grad_accum;
  t.seq_len = ranked.plan.seq_len;
  t.predicted_step_time_s = ranked.cost.step_time_s;
  t.predicted_peak_bytes = static_cast<std::int64_t>(ranked.device_peak_bytes);
  t.extra_json = {{"error", run.error}};
  profiles::record_trial(store, t);
}

// A trial with the run's step time by `o.statistic`, superseding the one ds train recorded.
void record_statistic(profiles::Store& store, const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                      const RankedPlan& ranked, MeasuredRun& run, const MeasureOptions& o) {
  run.step_time_s = step_statistic(run.step_times_s, o.statistic);
  profiles::Trial t;
  t.source = "tune";
  t.status = "ok";
  t.model = o.emit.model;
  t.model_json = estimators::model_json(model);
  t.plan_json = estimators::plan_json(ranked.plan);
  t.machine_fingerprint = o.machine_fingerprint;
  t.device = cluster.device == profiles::DeviceKind::kCpu ? "cpu" : "cuda";
  t.world_size = ranked.plan.world();
  t.micro_batch = ranked.plan.micro_batch;
  t.grad_accum = ranked.plan.grad_accum;
  t.seq_len = ranked.plan.seq_len;
  t.steps = static_cast<std::int64_t>(run.step_times_s.size());
  t.predicted_step_time_s = ranked.cost.step_time_s;
  t.measured_step_time_s = run.step_time_s;
  t.tokens_per_s = static_cast<double>(ranked.plan.micro_batch * ranked.plan.grad_accum * ranked.plan.dp *
                                       ranked.plan.seq_len) / *run.step_time_s;
  t.extra_json = {{"statistic", o.statistic}, {"train_trial_id", run.trial_id ? nlohmann::json(*run.trial_id) : nlohmann::json()}};
  run.trial_id = profiles::record_trial(store, t);
}

}  // namespace

double step_statistic(std::vector<double> times, const std::string& statistic) {
  if (times.empty()) throw RuntimeError(format_error("--measure-stat", "no step times to take the " + statistic + " of"));
  std::sort(times.begin(), times.end());
  if (statistic == "min") return times.front();
  if (statistic == "median") {
    const std::size_t n = times.size();
    return n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  }
  if (statistic == "mean") {
    double sum = 0;
    for (double t : times) sum += t;
    return sum / static_cast<double>(times.size());
  }
  throw UsageError(format_error("--measure-stat", "unknown statistic", "'" + statistic + "'", "mean, median or min"));
}

std::vector<int> measure_picks(int top, int explore, int available) {
  std::vector<int> picks;
  for (int r = 1; r <= std::min(top, available); ++r) picks.push_back(r);
  const int rest = available - top;
  if (explore <= 0 || rest <= 0) return picks;
  const int n = std::min(explore, rest);
  // Evenly over top+1 .. available, the last one at the end of the list.
  for (int i = 1; i <= n; ++i) picks.push_back(top + static_cast<int>(std::lround(static_cast<double>(i) * rest / n)));
  picks.erase(std::unique(picks.begin(), picks.end()), picks.end());
  return picks;
}

MeasureReport measure_plans(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                            const TuneOptions& options, const TuneResult& result, TrialRunner& runner,
                            profiles::Store& store, const MeasureOptions& o) {
  if (o.top < 1) throw UsageError(format_error("--measure", "out of range", std::to_string(o.top), "an integer >= 1"));
  step_statistic({1.0}, o.statistic);  // an unknown statistic fails before anything runs
  MeasureReport report;
  report.cluster_source = cluster.source;
  int index = 0;
  for (int rank : measure_picks(o.top, o.explore, static_cast<int>(result.top.size()))) {
    const RankedPlan& ranked = result.top[static_cast<std::size_t>(rank - 1)];
    MeasuredPlan m;
    m.rank = rank;
    m.ranked = ranked;
    m.run = runner.run(config_from_plan(ranked.plan, cluster, o.emit), ranked.plan, index++);
    if (m.run.status != "ok" && !m.run.trial_id) record_failure(store, model, cluster, ranked, m.run, o);
    if (m.run.status == "ok" && o.statistic != "mean") record_statistic(store, model, cluster, ranked, m.run, o);
    report.plans.push_back(std::move(m));
  }

  profiles::TrialQuery query;
  query.machine_fingerprint = o.machine_fingerprint;
  const auto trials = profiles::list_trials(store, query);
  auto samples = samples_from_trials(trials, cluster, options.cost);
  TuneOptions again = options;
  // Runs that ran out of memory where the estimator said they fit correct it for the re-ranking.
  report.memory = memory_correction(trials, cluster);
  again.memory_scale = std::max(again.memory_scale, report.memory.scale);
  if (static_cast<int>(samples.size()) >= o.calibration.min_trials) {
    report.calibration = calibrate(samples, CostCoefficients{}, o.calibration);
    report.calibration_id = save_calibration(store, o.machine_fingerprint, cluster.source, *report.calibration);
    again.cost.coefficients = report.calibration->coefficients;
  } else {
    report.calibration_note = "not recalibrated: " + std::to_string(samples.size()) + " finished trials on this machine, " +
                              std::to_string(o.calibration.min_trials) + " needed";
  }
  CostModel cost(model, cluster, again.cost);
  for (auto& m : report.plans) m.predicted_after_s = cost.estimate(m.ranked.plan).step_time_s;
  report.reranked = tune(model, cluster, again);
  return report;
}

nlohmann::json measure_json(const MeasureReport& r) {
  using nlohmann::json;
  json plans = json::array();
  for (const auto& m : r.plans) {
    plans.push_back({{"rank", m.rank},
                     {"plan", plan_label(m.ranked.plan)},
                     {"predicted_s", m.ranked.cost.step_time_s},
                     {"predicted_after_s", m.predicted_after_s},
                     {"status", m.run.status},
                     {"measured_s", m.run.step_time_s ? json(*m.run.step_time_s) : json()},
                     {"trial_id", m.run.trial_id ? json(*m.run.trial_id) : json()},
                     {"error", m.run.error}});
  }
  return {{"plans", plans},
          {"calibration", r.calibration ? calibration_json(*r.calibration, r.calibration_id, r.cluster_source) : json()},
          {"note", r.calibration_note},
          {"memory_scale", r.memory.scale},
          {"memory_note", r.memory.note}};
}

std::string render_measure(const MeasureReport& r) {
  Table table({"#", "plan", "predicted s", "after calibration s", "measured s", "error", "status"},
              {Table::Align::kRight, Table::Align::kLeft, Table::Align::kRight, Table::Align::kRight,
               Table::Align::kRight, Table::Align::kRight, Table::Align::kLeft});
  for (const auto& m : r.plans) {
    const bool ok = m.run.status == "ok" && m.run.step_time_s;
    const double measured = ok ? *m.run.step_time_s : 0;
    table.add_row({std::to_string(m.rank), plan_label(m.ranked.plan), fixed(m.ranked.cost.step_time_s, 4),
                   fixed(m.predicted_after_s, 4), ok ? fixed(measured, 4) : "-",
                   ok ? fixed(100 * (m.predicted_after_s - measured) / measured, 1) + "%" : "-",
                   ok ? "ok" : m.run.status + (m.run.error.empty() ? "" : ": " + m.run.error)});
  }
  std::string out = "\nmeasured:\n" + table.render();
  if (r.calibration) {
    out += "recalibrated from " + std::to_string(r.calibration->trials) + " trials (stored as calibration " +
           std::to_string(r.calibration_id) + "): step-time MAPE " + fixed(100 * r.calibration->mape_before, 1) +
           "% -> " + fixed(100 * r.calibration->mape_after, 1) + "%\n";
  } else {
    out += r.calibration_note + "\n";
  }
  if (!r.memory.note.empty()) out += r.memory.note + "\n";
  return out;
}

}  // namespace ds::autotune
