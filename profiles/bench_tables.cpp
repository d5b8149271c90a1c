#include "profiles/bench_tables.hpp"

namespace ds::profiles {

const char* bench_tables_sql() {
  // machine_json keeps the fields behind the fingerprint so a report can say which machine a
  // number came from. samples_json is a JSON array of every measured sample in the case's unit:
  // the verdict's rank test needs them, not just the median. kind and direction are checked by
  // bench/ (not CHECK constraints, which SQLite cannot alter later).
  return "CREATE TABLE bench_runs (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL,"
         " ds_version TEXT NOT NULL, git_commit TEXT NOT NULL, build_type TEXT NOT NULL DEFAULT '',"
         " machine_fingerprint TEXT NOT NULL, machine_json TEXT NOT NULL DEFAULT '{}',"
         " selection TEXT NOT NULL DEFAULT '', injected_slowdown REAL NOT NULL DEFAULT 1);"
         "CREATE TABLE bench_results (run_id INTEGER NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,"
         " case_name TEXT NOT NULL, suite TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT NOT NULL,"
         " higher_is_better INTEGER NOT NULL DEFAULT 0, median REAL NOT NULL, spread REAL NOT NULL,"
         " runs INTEGER NOT NULL, samples_json TEXT NOT NULL, stop_reason TEXT NOT NULL DEFAULT '',"
         " elapsed_s REAL NOT NULL DEFAULT 0, PRIMARY KEY (run_id, case_name));"
         "CREATE INDEX bench_results_by_case ON bench_results(case_name, run_id);"
         "CREATE TABLE bench_baselines (name TEXT NOT NULL,"
         " run_id INTEGER NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,"
         " created_at TEXT NOT NULL, PRIMARY KEY (name, run_id));";
}

}  // namespace ds::profiles
