#include "profiles/tune_tables.hpp"

namespace ds::profiles {

const char* tune_tables_sql() {
  // JSON columns hold what the tuner reports (plan_json is estimators::plan_json, terms_json the
  // cost terms by name) so later versions can add fields without a schema step.
  return "CREATE TABLE tune_runs (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL,"
         " model TEXT NOT NULL DEFAULT '', model_json TEXT NOT NULL DEFAULT '{}',"
         " cluster_json TEXT NOT NULL DEFAULT '{}', options_json TEXT NOT NULL DEFAULT '{}',"
         " objective TEXT NOT NULL, machine_fingerprint TEXT NOT NULL DEFAULT '',"
         " raw_combinations INTEGER NOT NULL DEFAULT 0, candidates INTEGER NOT NULL DEFAULT 0,"
         " feasible INTEGER NOT NULL DEFAULT 0, pruned_json TEXT NOT NULL DEFAULT '{}',"
         " elapsed_s REAL NOT NULL DEFAULT 0, chosen_rank INTEGER NOT NULL DEFAULT 1,"
         " config_path TEXT NOT NULL DEFAULT '');"
         "CREATE INDEX tune_runs_by_machine ON tune_runs(machine_fingerprint, created_at);"
         "CREATE TABLE tune_candidates (run_id INTEGER NOT NULL REFERENCES tune_runs(id) ON DELETE CASCADE,"
         " rank INTEGER NOT NULL, label TEXT NOT NULL DEFAULT '', plan_json TEXT NOT NULL,"
         " step_time_s REAL NOT NULL, tokens_per_s REAL NOT NULL, mfu REAL NOT NULL DEFAULT 0,"
         " device_peak_bytes REAL NOT NULL DEFAULT 0, cpu_peak_bytes_per_node REAL NOT NULL DEFAULT 0,"
         " terms_json TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (run_id, rank));"
         "CREATE TABLE tune_calibrations (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL,"
         " machine_fingerprint TEXT NOT NULL, device TEXT NOT NULL DEFAULT '',"
         " coefficients_json TEXT NOT NULL, trials INTEGER NOT NULL, mape_before REAL NOT NULL,"
         " mape_after REAL NOT NULL, trial_ids_json TEXT NOT NULL DEFAULT '[]');"
         "CREATE INDEX tune_calibrations_by_machine ON tune_calibrations(machine_fingerprint, created_at);";
}

}  // namespace ds::profiles
