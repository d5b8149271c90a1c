#include "bench/bench_store.hpp"

#include "common/error.hpp"
#include "profiles/store.hpp"

namespace ds::bench {
namespace {

using profiles::Statement;

constexpr const char* kRunColumns =
    "id, created_at, ds_version, git_commit, build_type, machine_fingerprint, machine_json, selection,"
    " injected_slowdown";

BenchRun read_run_row(Statement& st) {
  BenchRun run;
  run.id = st.get_int("id");
  run.created_at = st.get_text("created_at");
  run.ds_version = st.get_text("ds_version");
  run.git_commit = st.get_text("git_commit");
  run.build_type = st.get_text("build_type");
  run.machine_fingerprint = st.get_text("machine_fingerprint");
  run.machine = nlohmann::json::parse(st.get_text("machine_json"), nullptr, false);
  if (run.machine.is_discarded()) run.machine = nlohmann::json::object();
  run.selection = st.get_text("selection");
  run.injected_slowdown = st.get_double("injected_slowdown");
  return run;
}

CaseResult read_result_row(Statement& st) {
  CaseResult r;
  r.name = st.get_text("case_name");
  r.suite = st.get_text("suite");
  r.kind = parse_kind(st.get_text("kind"));
  r.unit = st.get_text("unit");
  r.higher_is_better = st.get_int("higher_is_better") != 0;
  r.median = st.get_double("median");
  r.spread = st.get_double("spread");
  r.runs = static_cast<int>(st.get_int("runs"));
  const auto samples = nlohmann::json::parse(st.get_text("samples_json"), nullptr, false);
  if (samples.is_array()) {
    for (const auto& v : samples) {
      if (v.is_number()) r.samples.push_back(v.get<double>());
    }
  }
  r.stop_reason = st.get_text("stop_reason");
  r.elapsed_s = st.get_double("elapsed_s");
  return r;
}

std::vector<CaseResult> load_results(profiles::Store& store, std::int64_t run_id) {
  auto st = store.prepare("SELECT * FROM bench_results WHERE run_id = ? ORDER BY rowid");
  st.bind(1, run_id);
  std::vector<CaseResult> results;
  while (st.step()) results.push_back(read_result_row(st));
  return results;
}

}  // namespace

const CaseResult* BenchRun::find(const std::string& name) const {
  for (const auto& r : results) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::int64_t save_run(profiles::Store& store, const BenchRun& run) {
  return store.transaction([&](profiles::Transaction& tx) {
    auto st = tx.prepare(
        "INSERT INTO bench_runs (created_at, ds_version, git_commit, build_type, machine_fingerprint, machine_json,"
        " selection, injected_slowdown) VALUES (COALESCE(NULLIF(?, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
        " ?, ?, ?, ?, ?, ?, ?)");
    st.bind_all(run.created_at, run.ds_version, run.git_commit, run.build_type, run.machine_fingerprint,
                run.machine.dump(), run.selection, run.injected_slowdown);
    st.run();
    const std::int64_t id = tx.last_insert_rowid();
    auto insert = tx.prepare(
        "INSERT INTO bench_results (run_id, case_name, suite, kind, unit, higher_is_better, median, spread, runs,"
        " samples_json, stop_reason, elapsed_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& r : run.results) {
      insert.bind_all(id, r.name, r.suite, std::string(kind_name(r.kind)), r.unit, r.higher_is_better ? 1 : 0,
                      r.median, r.spread, r.runs, nlohmann::json(r.samples).dump(), r.stop_reason, r.elapsed_s);
      insert.run();
      insert.reset();
    }
    return id;
  });
}

std::optional<BenchRun> load_run(profiles::Store& store, std::int64_t id) {
  auto st = store.prepare(std::string("SELECT ") + kRunColumns + " FROM bench_runs WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  BenchRun run = read_run_row(st);
  st.reset();
  run.results = load_results(store, id);
  return run;
}

std::optional<std::int64_t> latest_run_id(profiles::Store& store, const std::string& machine_fingerprint) {
  auto st = store.prepare(
      "SELECT id FROM bench_runs WHERE (? = '' OR machine_fingerprint = ?) AND injected_slowdown = 1"
      " ORDER BY created_at DESC, id DESC LIMIT 1");
  st.bind_all(machine_fingerprint, machine_fingerprint);
  if (!st.step()) return std::nullopt;
  return st.get_int(0);
}

void save_baseline(profiles::Store& store, const std::string& name, std::int64_t run_id) {
  if (name.empty()) throw UsageError(format_error("--save-baseline", "empty baseline name", "", "a name such as 'main'"));
  store.transaction([&](profiles::Transaction& tx) {
    tx.prepare("INSERT OR REPLACE INTO bench_baselines (name, run_id, created_at)"
               " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
        .bind_all(name, run_id)
        .run();
  });
}

std::vector<BenchRun> baseline_runs(profiles::Store& store, const std::string& name) {
  std::vector<std::int64_t> ids;
  {
    auto st = store.prepare(
        "SELECT b.run_id FROM bench_baselines b JOIN bench_runs r ON r.id = b.run_id WHERE b.name = ?"
        " ORDER BY b.created_at DESC, r.created_at DESC, r.id DESC");
    st.bind(1, name);
    while (st.step()) ids.push_back(st.get_int(0));
  }
  std::vector<BenchRun> runs;
  for (auto id : ids) {
    if (auto run = load_run(store, id)) runs.push_back(std::move(*run));
  }
  return runs;
}

std::vector<std::string> baseline_names(profiles::Store& store) {
  auto st = store.prepare("SELECT DISTINCT name FROM bench_baselines ORDER BY name");
  std::vector<std::string> names;
  while (st.step()) names.push_back(st.get_text(0));
  return names;
}

std::vector<HistoryPoint> case_history(profiles::Store& store, const std::string& case_name,
                                       const std::string& machine_fingerprint, int limit) {
  auto st = store.prepare(
      "SELECT res.*, r.created_at AS run_created_at, r.git_commit, r.machine_fingerprint, r.injected_slowdown"
      " FROM bench_results res JOIN bench_runs r ON r.id = res.run_id"
      " WHERE res.case_name = ? AND (? = '' OR r.machine_fingerprint = ?) AND r.injected_slowdown = 1"
      " ORDER BY r.created_at DESC, r.id DESC LIMIT ?");
  st.bind_all(case_name, machine_fingerprint, machine_fingerprint, limit > 0 ? limit : -1);
  std::vector<HistoryPoint> points;
  while (st.step()) {
    HistoryPoint p;
    p.run_id = st.get_int("run_id");
    p.created_at = st.get_text("run_created_at");
    p.git_commit = st.get_text("git_commit");
    p.machine_fingerprint = st.get_text("machine_fingerprint");
    p.injected_slowdown = st.get_double("injected_slowdown");
    p.result = read_result_row(st);
    points.push_back(std::move(p));
  }
  return {points.rbegin(), points.rend()};
}

}  // namespace ds::bench
