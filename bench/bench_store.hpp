#pragma once
// `ds bench`'s rows in the store (tables: profiles/bench_tables.cpp, schema step 5): runs, the
// per-case results with every sample, and named baselines.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_case.hpp"

namespace ds::profiles {
class Store;
}

namespace ds::bench {

/// One case of one run.
struct CaseResult {
  std::string name;   ///< "suite/case"
  std::string suite;
  Kind kind = Kind::kTime;
  std::string unit;
  bool higher_is_better = false;
  double median = 0;  ///< of the samples, in `unit`
  double spread = 0;  ///< interquartile range of the samples, in `unit`
  int runs = 0;       ///< samples taken (warm-up excluded)
  std::vector<double> samples;
  std::string stop_reason;  ///< stop_reason_name(); empty for a stored run read back from JSON
  double elapsed_s = 0;     ///< wall-clock time of the case, warm-up included
};

/// A case that did not run, and why (CaseSkipped); reported, not stored.
struct SkippedCase {
  std::string name;
  std::string reason;
};

/// One `ds bench run`: what was built, where it ran, what it measured.
struct BenchRun {
  std::int64_t id = 0;             ///< row id; 0 before it is saved
  std::string created_at;          ///< ISO-8601 UTC; empty = now when saved
  std::string ds_version;
  std::string git_commit;
  std::string build_type;
  std::string machine_fingerprint;
  nlohmann::json machine = nlohmann::json::object();  ///< the fields behind the fingerprint
  std::string selection;           ///< the suites and filter as asked, for the record
  double injected_slowdown = 1;    ///< test-only --inject-slowdown factor; 1 for a real run
  std::vector<CaseResult> results;
  std::vector<SkippedCase> skipped;

  const CaseResult* find(const std::string& name) const;
};

/// Saves the run and its results in one transaction; returns the run's id.
std::int64_t save_run(profiles::Store& store, const BenchRun& run);
/// The run with id `id` and its results, or nothing.
std::optional<BenchRun> load_run(profiles::Store& store, std::int64_t id);
/// The id of the newest run (optionally on one machine), or nothing when there is none.
std::optional<std::int64_t> latest_run_id(profiles::Store& store, const std::string& machine_fingerprint = {});

/// Names run `run_id` `name` (a baseline may cover runs on several machines; the newest wins).
void save_baseline(profiles::Store& store, const std::string& name, std::int64_t run_id);
/// The runs stored under baseline `name`, newest first (empty when the name is unknown).
std::vector<BenchRun> baseline_runs(profiles::Store& store, const std::string& name);
/// Every baseline name, sorted.
std::vector<std::string> baseline_names(profiles::Store& store);

/// One point of a case's history.
struct HistoryPoint {
  std::int64_t run_id = 0;
  std::string created_at;
  std::string git_commit;
  std::string machine_fingerprint;
  double injected_slowdown = 1;
  CaseResult result;
};

/// The stored results of `case_name`, oldest first; only from `machine_fingerprint` when not
/// empty; the newest `limit` when limit > 0. Runs with an injected slowdown are left out.
std::vector<HistoryPoint> case_history(profiles::Store& store, const std::string& case_name,
                                       const std::string& machine_fingerprint = {}, int limit = 0);

}  // namespace ds::bench
