#pragma once
// Every `ds tune` run, its ranked candidates and its choice, in the SQLite store (tables of
// schema step 4, profiles/tune_tables.hpp); `ds tune history` reads them back.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autotune/tuner.hpp"

namespace ds::profiles {
class Store;
}

namespace ds::autotune {

/// One stored candidate (a ranked plan).
struct StoredCandidate {
  int rank = 0;                 ///< 1 = the chosen plan
  std::string label;            ///< plan_label
  nlohmann::json plan;          ///< estimators::plan_json
  double step_time_s = 0;
  double tokens_per_s = 0;
  double mfu = 0;
  double device_peak_bytes = 0;
  double cpu_peak_bytes_per_node = 0;
  nlohmann::json terms;         ///< {"compute": s, ...}
};

/// One stored tuning run.
struct StoredTuneRun {
  std::int64_t id = 0;
  std::string created_at;       ///< ISO-8601 UTC
  std::string model;            ///< as the user named it
  std::string objective;
  std::string machine_fingerprint;
  std::int64_t raw_combinations = 0;
  std::int64_t candidates = 0;
  std::int64_t feasible = 0;
  std::map<std::string, std::int64_t> pruned;
  double elapsed_s = 0;
  int chosen_rank = 1;
  std::string config_path;      ///< --out, empty when none was written
  nlohmann::json model_json;
  nlohmann::json cluster_json;
  nlohmann::json options_json;
  std::vector<StoredCandidate> top;  ///< best first (empty in list_tune_runs)
};

/// What record_tune_run stores beside the result.
struct TuneRunContext {
  std::string model;                ///< --model or --params as typed
  std::string machine_fingerprint;  ///< of the machine that ran the tuner
  std::string config_path;          ///< --out
};

/// Stores the run and its top candidates in one transaction; returns the run's id.
std::int64_t record_tune_run(profiles::Store& store, const estimators::ModelSpec& model,
                             const profiles::ClusterSpec& cluster, const TuneOptions& options, const TuneResult& result,
                             const TuneRunContext& context);

/// Runs newest first (without candidates); limit 0 = all.
std::vector<StoredTuneRun> list_tune_runs(profiles::Store& store, int limit = 0);

/// One run with its candidates, or nothing.
std::optional<StoredTuneRun> find_tune_run(profiles::Store& store, std::int64_t id);

/// `ds tune history`: one line per run; with `run`, its candidates as a table.
std::string render_history(const std::vector<StoredTuneRun>& runs);
std::string render_run(const StoredTuneRun& run);
nlohmann::json history_json(const StoredTuneRun& run);

}  // namespace ds::autotune
