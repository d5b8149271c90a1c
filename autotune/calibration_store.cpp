#include "autotune/calibration_store.hpp"

#include <cstdio>
#include <map>

#include "common/error.hpp"
#include "common/table.hpp"
#include "estimators/memory_estimate.hpp"
#include "estimators/model_spec.hpp"
#include "profiles/store.hpp"

namespace ds::autotune {
namespace {

using nlohmann::json;

template <typename T>
T field(const json& j, const char* key, const std::string& where, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw UsageError(format_error(where + "." + key, "wrong type", it->dump(), "the type estimators::plan_json writes"));
  }
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

estimators::Plan plan_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw UsageError(format_error(where, "not a plan", j.dump(), "a JSON object (plan_json)"));
  estimators::Plan p;
  p.zero_stage = field<int>(j, "zero_stage", where, p.zero_stage);
  p.offload_optimizer = estimators::parse_offload(field<std::string>(j, "offload_optimizer", where, "none"),
                                                  where + ".offload_optimizer");
  p.offload_param = estimators::parse_offload(field<std::string>(j, "offload_param", where, "none"), where + ".offload_param");
  p.dtype = estimators::parse_dtype(field<std::string>(j, "dtype", where, "bf16"), where + ".dtype");
  estimators::parse_optimizer(field<std::string>(j, "optimizer", where, "adamw"), where + ".optimizer", p);
  p.micro_batch = field<std::int64_t>(j, "micro_batch", where, p.micro_batch);
  p.seq_len = field<std::int64_t>(j, "seq_len", where, p.seq_len);
  p.grad_accum = field<std::int64_t>(j, "grad_accum", where, p.grad_accum);
  p.checkpointing = estimators::parse_checkpointing(field<std::string>(j, "checkpointing", where, "none"),
                                                    where + ".checkpointing");
  p.dp = field<int>(j, "dp", where, p.dp);
  p.tp = field<int>(j, "tp", where, p.tp);
  p.pp = field<int>(j, "pp", where, p.pp);
  p.sp = field<int>(j, "sp", where, p.sp);
  p.sequence_parallel = field<bool>(j, "sequence_parallel", where, p.sequence_parallel);
  p.reduce_bucket_size = field<std::int64_t>(j, "reduce_bucket_size", where, p.reduce_bucket_size);
  p.allgather_bucket_size = field<std::int64_t>(j, "allgather_bucket_size", where, p.allgather_bucket_size);
  p.stage3_prefetch_bucket_size = field<std::int64_t>(j, "stage3_prefetch_bucket_size", where, p.stage3_prefetch_bucket_size);
  p.stage3_max_live_parameters = field<std::int64_t>(j, "stage3_max_live_parameters", where, p.stage3_max_live_parameters);
  p.stage3_param_persistence_threshold =
      field<std::int64_t>(j, "stage3_param_persistence_threshold", where, p.stage3_param_persistence_threshold);
  if (j.contains("overlap_comm")) p.overlap_comm = field<bool>(j, "overlap_comm", where, false);
  p.fused_attention = field<bool>(j, "fused_attention", where, p.fused_attention);
  if (j.contains("engine")) p.engine = estimators::parse_engine(field<std::string>(j, "engine", where, "deepspeed"), where + ".engine");
  if (j.contains("fp32_grad_accumulation")) p.fp32_grad_accumulation = field<bool>(j, "fp32_grad_accumulation", where, false);
  return p;
}

std::vector<CalibrationSample> samples_from_trials(const std::vector<profiles::Trial>& trials,
                                                   const profiles::ClusterSpec& cluster,
                                                   const CostModelOptions& cost_options,
                                                   std::vector<SkippedTrial>* skipped) {
  std::vector<CalibrationSample> out;
  const auto skip = [&](const profiles::Trial& t, std::string why) {
    if (skipped) skipped->push_back({t.id, std::move(why)});
  };
  const bool cpu_cluster = cluster.device == profiles::DeviceKind::kCpu;
  // A tune trial that restates a train trial's run by another statistic supersedes it.
  std::map<std::int64_t, std::int64_t> superseded;
  for (const auto& t : trials) {
    auto it = t.extra_json.find("train_trial_id");
    if (it != t.extra_json.end() && it->is_number_integer()) superseded[it->get<std::int64_t>()] = t.id;
  }
  for (const auto& t : trials) {
    if (superseded.count(t.id)) { skip(t, "superseded by trial " + std::to_string(superseded[t.id])); continue; }
    if (t.status != "ok") { skip(t, "status " + t.status); continue; }
    if (!t.measured_step_time_s || *t.measured_step_time_s <= 0) { skip(t, "no measured step time"); continue; }
    if ((t.device.rfind("cpu", 0) == 0) != cpu_cluster) { skip(t, "ran on " + t.device); continue; }
    try {
      auto model = estimators::load_model_spec(t.model, "trial " + std::to_string(t.id) + " model");
      // Every trial is a run of ds train: priced as its engine ran it.
      auto plan = estimators::as_run_by_ds(plan_from_json(t.plan_json, "trial " + std::to_string(t.id) + " plan_json"));
      profiles::ClusterSpec here = cluster;
      here.nodes = 1;
      here.gpus_per_node = t.world_size;
      CalibrationSample s;
      s.raw_s = CostModel(model, here, cost_options).estimate(plan).raw_s;
      s.measured_s = *t.measured_step_time_s;
      s.trial_id = t.id;
      out.push_back(s);
    } catch (const Error& e) {
      skip(t, e.what());
    }
  }
  return out;
}

MemoryCorrection memory_correction(const std::vector<profiles::Trial>& trials, const profiles::ClusterSpec& cluster,
                                   double max_scale) {
  MemoryCorrection out;
  const bool cpu_cluster = cluster.device == profiles::DeviceKind::kCpu;
  for (const auto& t : trials) {
    if (t.status != "oom" || (t.device.rfind("cpu", 0) == 0) != cpu_cluster) continue;
    try {
      auto model = estimators::load_model_spec(t.model, "trial " + std::to_string(t.id) + " model");
      // As the trial stored it: ds train stores the plan as its engine ran it, the tuner the
      // plan it priced, the one whose estimate is to be corrected.
      auto plan = plan_from_json(t.plan_json, "trial " + std::to_string(t.id) + " plan_json");
      profiles::ClusterSpec here = cluster;
      here.nodes = 1;
      here.gpus_per_node = t.world_size;
      auto est = estimators::estimate_memory(model, estimators::count_params(model), here, plan);
      auto fit = estimators::check_fit(est, here);
      if (!fit.fits || est.device_peak_bytes <= 0) continue;  // the estimator already said so
      // device_peak + headroom is what a rank may hold (on a CPU run, its share of the node).
      const double limit = est.device_peak_bytes + fit.device_headroom_bytes;
      const double scale = std::min(max_scale, 1.01 * limit / est.device_peak_bytes);
      if (scale <= out.scale) continue;
      char line[256];
      std::snprintf(line, sizeof line,
                    "memory: device estimates x%.2f since trial %lld ran out of memory (%s: predicted %.2f GiB of %.2f GiB)",
                    scale, static_cast<long long>(t.id), t.model.c_str(), est.device_peak_bytes / 1073741824.0,
                    limit / 1073741824.0);
      out = {scale, t.id, line};
    } catch (const Error&) {
      continue;  // a model or plan this ds cannot read: nothing to learn from it
    }
  }
  return out;
}

std::string render_calibration(const std::vector<CalibrationSample>& samples, const Calibration& fit,
                               const std::string& cluster_source) {
  const auto fixed = [](double v, int d) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", d, v);
    return std::string(buf);
  };
  Table table({"trial", "measured s", "before s", "error", "after s", "error"},
              {Table::Align::kRight, Table::Align::kRight, Table::Align::kRight, Table::Align::kRight,
               Table::Align::kRight, Table::Align::kRight});
  const CostCoefficients prior;
  for (const auto& s : samples) {
    double before = 0, after = 0;
    for (int t = 0; t < kCostTermCount; ++t) {
      before += prior.scale[t] * s.raw_s[t];
      after += fit.coefficients.scale[t] * s.raw_s[t];
    }
    table.add_row({std::to_string(s.trial_id), fixed(s.measured_s, 4), fixed(before, 4),
                   fixed(100 * (before - s.measured_s) / s.measured_s, 1) + "%", fixed(after, 4),
                   fixed(100 * (after - s.measured_s) / s.measured_s, 1) + "%"});
  }
  std::string out = "calibration for " + cluster_source + " from " + std::to_string(fit.trials) +
                    " trials: step-time MAPE " + fixed(100 * fit.mape_before, 1) + "% -> " +
                    fixed(100 * fit.mape_after, 1) + "%\n\n" + table.render() + "\ncoefficients:";
  for (auto t : fit.fitted) out += " " + std::string(cost_term_name(t)) + "=" + fixed(fit.coefficients[t], 3);
  return out + " (others 1)\n";
}

json calibration_json(const Calibration& fit, std::int64_t id, const std::string& cluster_source) {
  return {{"id", id},
          {"cluster_source", cluster_source},
          {"trials", fit.trials},
          {"mape_before", fit.mape_before},
          {"mape_after", fit.mape_after},
          {"coefficients", coefficients_json(fit.coefficients)},
          {"trial_ids", fit.trial_ids}};
}

json coefficients_json(const CostCoefficients& c) {
  json out = json::object();
  for (int t = 0; t < kCostTermCount; ++t) out[std::string(cost_term_name(static_cast<CostTerm>(t)))] = c.scale[t];
  return out;
}

std::int64_t save_calibration(profiles::Store& store, const std::string& machine_fingerprint,
                              const std::string& cluster_source, const Calibration& c) {
  json fitted = json::array();
  for (auto t : c.fitted) fitted.push_back(std::string(cost_term_name(t)));
  json coefficients = {{"coefficients", coefficients_json(c.coefficients)}, {"fitted", fitted}};
  return store.transaction([&](profiles::Transaction& tx) {
    auto st = tx.prepare(
        "INSERT INTO tune_calibrations (created_at, machine_fingerprint, device, coefficients_json, trials,"
        " mape_before, mape_after, trial_ids_json) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?, ?, ?, ?, ?, ?)");
    st.bind_all(machine_fingerprint, cluster_source, dump(coefficients), c.trials, c.mape_before, c.mape_after,
                dump(json(c.trial_ids)));
    st.run();
    return tx.last_insert_rowid();
  });
}

std::optional<StoredCalibration> latest_calibration(profiles::Store& store, const std::string& machine_fingerprint,
                                                    const std::string& cluster_source) {
  auto st = store.prepare(
      "SELECT * FROM tune_calibrations WHERE machine_fingerprint = ? AND device = ? ORDER BY created_at DESC, id DESC "
      "LIMIT 1");
  st.bind_all(machine_fingerprint, cluster_source);
  if (!st.step()) return std::nullopt;
  StoredCalibration out;
  out.id = st.get_int("id");
  out.created_at = st.get_text("created_at");
  out.machine_fingerprint = st.get_text("machine_fingerprint");
  out.cluster_source = st.get_text("device");
  auto& c = out.calibration;
  json stored = json::parse(st.get_text("coefficients_json"), nullptr, false);
  if (stored.is_object() && stored["coefficients"].is_object()) {
    for (const auto& [name, value] : stored["coefficients"].items()) {
      if (value.is_number()) c.coefficients[parse_cost_term(name, "tune_calibrations.coefficients_json")] = value.get<double>();
    }
    for (const auto& name : stored["fitted"]) c.fitted.push_back(parse_cost_term(name.get<std::string>(), "fitted"));
  }
  c.trials = static_cast<int>(st.get_int("trials"));
  c.mape_before = st.get_double("mape_before");
  c.mape_after = st.get_double("mape_after");
  json ids = json::parse(st.get_text("trial_ids_json"), nullptr, false);
  if (ids.is_array()) c.trial_ids = ids.get<std::vector<std::int64_t>>();
  return out;
}

}  // namespace ds::autotune
