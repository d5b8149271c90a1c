#include "autotune/tune_history.hpp"

#include <cstdio>

#include "autotune/tune_report.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "estimators/estimate_json.hpp"
#include "profiles/store.hpp"

namespace ds::autotune {
namespace {

using nlohmann::json;

template <typename T, typename Name>
json names(const std::vector<T>& values, Name name) {
  json out = json::array();
  for (const auto& v : values) out.push_back(std::string(name(v)));
  return out;
}

json options_json(const TuneOptions& o) {
  const auto& s = o.space;
  return {{"stages", s.stages},
          {"offload_optimizer", names(s.offload_optimizer, estimators::offload_name)},
          {"offload_param", names(s.offload_param, estimators::offload_name)},
          {"micro_batches", s.micro_batches},
          {"grad_accums", s.grad_accums},
          {"global_batch", s.global_batch},
          {"checkpointing", names(s.checkpointing, estimators::checkpointing_name)},
          {"dtypes", names(s.dtypes, estimators::dtype_name)},
          {"bucket_sizes", s.bucket_sizes},
          {"max_tp", s.max_tp},
          {"max_pp", s.max_pp},
          {"seq_len", s.seq_len},
          {"top_k", o.top_k}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json parse_or_null(const std::string& text) { return text.empty() ? json() : json::parse(text, nullptr, false); }

StoredTuneRun read_run(profiles::Statement& st) {
  StoredTuneRun r;
  r.id = st.get_int("id");
  r.created_at = st.get_text("created_at");
  r.model = st.get_text("model");
  r.objective = st.get_text("objective");
  r.machine_fingerprint = st.get_text("machine_fingerprint");
  r.raw_combinations = st.get_int("raw_combinations");
  r.candidates = st.get_int("candidates");
  r.feasible = st.get_int("feasible");
  json pruned = parse_or_null(st.get_text("pruned_json"));
  if (pruned.is_object()) {
    for (const auto& [reason, n] : pruned.items()) r.pruned[reason] = n.get<std::int64_t>();
  }
  r.elapsed_s = st.get_double("elapsed_s");
  r.chosen_rank = static_cast<int>(st.get_int("chosen_rank"));
  r.config_path = st.get_text("config_path");
  r.model_json = parse_or_null(st.get_text("model_json"));
  r.cluster_json = parse_or_null(st.get_text("cluster_json"));
  r.options_json = parse_or_null(st.get_text("options_json"));
  return r;
}

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

std::int64_t record_tune_run(profiles::Store& store, const estimators::ModelSpec& model,
                             const profiles::ClusterSpec& cluster, const TuneOptions& options, const TuneResult& result,
                             const TuneRunContext& context) {
  json pruned = json::object();
  for (const auto& [reason, n] : result.pruned) pruned[reason] = n;
  return store.transaction([&](profiles::Transaction& tx) {
    auto run = tx.prepare(
        "INSERT INTO tune_runs (created_at, model, model_json, cluster_json, options_json, objective,"
        " machine_fingerprint, raw_combinations, candidates, feasible, pruned_json, elapsed_s, chosen_rank, config_path)"
        " VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)");
    run.bind_all(context.model, dump(estimators::model_json(model)), dump(estimators::cluster_json(cluster)),
                 dump(options_json(options)), std::string(objective_name(options.objective)),
                 context.machine_fingerprint, result.raw_combinations, result.candidates, result.feasible, dump(pruned),
                 result.elapsed_s, context.config_path);
    run.run();
    const std::int64_t id = tx.last_insert_rowid();
    auto cand = tx.prepare(
        "INSERT INTO tune_candidates (run_id, rank, label, plan_json, step_time_s, tokens_per_s, mfu,"
        " device_peak_bytes, cpu_peak_bytes_per_node, terms_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    int rank = 0;
    for (const auto& rp : result.top) {
      cand.reset();
      cand.bind_all(id, ++rank, plan_label(rp.plan), dump(estimators::plan_json(rp.plan)), rp.cost.step_time_s,
                    rp.cost.tokens_per_s, rp.cost.mfu, rp.device_peak_bytes, rp.cpu_peak_bytes_per_node,
                    dump(cost_json(rp.cost)["terms_s"]));
      cand.run();
    }
    return id;
  });
}

std::vector<StoredTuneRun> list_tune_runs(profiles::Store& store, int limit) {
  std::string sql = "SELECT * FROM tune_runs ORDER BY created_at DESC, id DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  auto st = store.prepare(sql);
  std::vector<StoredTuneRun> out;
  while (st.step()) out.push_back(read_run(st));
  return out;
}

std::optional<StoredTuneRun> find_tune_run(profiles::Store& store, std::int64_t id) {
  std::optional<StoredTuneRun> run;
  {
    auto st = store.prepare("SELECT * FROM tune_runs WHERE id = ?");
    st.bind_all(id);
    if (!st.step()) return std::nullopt;
    run = read_run(st);
  }
  auto st = store.prepare("SELECT * FROM tune_candidates WHERE run_id = ? ORDER BY rank");
  st.bind_all(id);
  while (st.step()) {
    StoredCandidate c;
    c.rank = static_cast<int>(st.get_int("rank"));
    c.label = st.get_text("label");
    c.plan = parse_or_null(st.get_text("plan_json"));
    c.step_time_s = st.get_double("step_time_s");
    c.tokens_per_s = st.get_double("tokens_per_s");
    c.mfu = st.get_double("mfu");
    c.device_peak_bytes = st.get_double("device_peak_bytes");
    c.cpu_peak_bytes_per_node = st.get_double("cpu_peak_bytes_per_node");
    c.terms = parse_or_null(st.get_text("terms_json"));
    run->top.push_back(std::move(c));
  }
  return run;
}

std::string render_history(const std::vector<StoredTuneRun>& runs) {
  if (runs.empty()) return "no tuning runs stored yet; `ds tune --model ...` records one\n";
  Table table({"id", "when", "model", "objective", "candidates", "pruned", "ranked", "seconds", "config"},
              {Table::Align::kRight, Table::Align::kLeft, Table::Align::kLeft, Table::Align::kLeft,
               Table::Align::kRight, Table::Align::kRight, Table::Align::kRight, Table::Align::kRight,
               Table::Align::kLeft});
  for (const auto& r : runs) {
    std::int64_t pruned = 0;
    for (const auto& [reason, n] : r.pruned) pruned += n;
    table.add_row({std::to_string(r.id), r.created_at, r.model, r.objective,
                   format_thousands(static_cast<std::uint64_t>(r.candidates)),
                   format_thousands(static_cast<std::uint64_t>(pruned)),
                   format_thousands(static_cast<std::uint64_t>(r.feasible)), fixed(r.elapsed_s, 3),
                   r.config_path.empty() ? "-" : r.config_path});
  }
  return table.render();
}

std::string render_run(const StoredTuneRun& r) {
  std::string out = "tune run " + std::to_string(r.id) + " at " + r.created_at + ": " + r.model + ", objective " +
                    r.objective + ", " + format_thousands(static_cast<std::uint64_t>(r.candidates)) + " candidates, " +
                    format_thousands(static_cast<std::uint64_t>(r.feasible)) + " ranked";
  for (const auto& [reason, n] : r.pruned) out += ", " + std::to_string(n) + " pruned (" + reason + ")";
  out += r.config_path.empty() ? "\n\n" : "; chose #" + std::to_string(r.chosen_rank) + " -> " + r.config_path + "\n\n";
  Table table({"#", "plan", "step s", "tokens/s", "MFU", "GiB"},
              {Table::Align::kRight, Table::Align::kLeft, Table::Align::kRight, Table::Align::kRight,
               Table::Align::kRight, Table::Align::kRight});
  for (const auto& c : r.top) {
    table.add_row({std::to_string(c.rank), c.label, fixed(c.step_time_s, 4), fixed(c.tokens_per_s, 0),
                   fixed(100 * c.mfu, 1) + "%", fixed(c.device_peak_bytes / kGiB, 2)});
  }
  return out + table.render();
}

json history_json(const StoredTuneRun& r) {
  json top = json::array();
  for (const auto& c : r.top) {
    top.push_back({{"rank", c.rank},
                   {"label", c.label},
                   {"plan", c.plan},
                   {"step_time_s", c.step_time_s},
                   {"tokens_per_s", c.tokens_per_s},
                   {"mfu", c.mfu},
                   {"device_peak_bytes", c.device_peak_bytes},
                   {"cpu_peak_bytes_per_node", c.cpu_peak_bytes_per_node},
                   {"terms_s", c.terms}});
  }
  json pruned = json::object();
  for (const auto& [reason, n] : r.pruned) pruned[reason] = n;
  return {{"id", r.id},
          {"created_at", r.created_at},
          {"model", r.model},
          {"objective", r.objective},
          {"machine_fingerprint", r.machine_fingerprint},
          {"raw_combinations", r.raw_combinations},
          {"candidates", r.candidates},
          {"feasible", r.feasible},
          {"pruned", pruned},
          {"elapsed_s", r.elapsed_s},
          {"chosen_rank", r.chosen_rank},
          {"config_path", r.config_path},
          {"options", r.options_json},
          {"top", top}};
}

}  // namespace ds::autotune
