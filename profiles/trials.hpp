#pragma once
// The trials table (issue 6): one row per training, tuning or benchmark run, with what the
// estimators predicted next to what was measured. The tuner calibrates its cost model from
// these rows (shared/DESIGN.md, "The loop that makes the tuner honest").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ds::profiles {

class Store;

/// One run. Names match the columns of the trials table (docs/profile.md); std::optional fields
/// are NULL when unknown (no prediction, a run that died before measuring).
struct Trial {
  std::int64_t id = 0;                  ///< row id (0 before it is stored)
  std::string created_at;               ///< ISO-8601 UTC with milliseconds; empty = now when recorded
  std::string source;                   ///< "train" | "tune" | "bench"
  std::string status;                   ///< "ok" | "failed" | "oom" | "stopped"
  std::string model;                    ///< preset name or config.json path as the user gave it
  /// ModelSpec as JSON (estimators::model_json); null = unknown. Must be an object or null.
  nlohmann::json model_json;
  /// Plan as JSON (estimators::plan_json); null = unknown. Must be an object or null.
  nlohmann::json plan_json;
  /// SHA-256 hex (common/sha256.hpp) of the canonical DeepSpeed JSON text of the resolved config.
  std::string config_hash;
  std::string machine_fingerprint;      ///< MachineInfo::fingerprint() of the machine that ran it
  std::optional<std::int64_t> profile_id;  ///< stored hardware profile the prediction used
  std::string device = "cpu";           ///< "cpu", "cuda:0", ...
  int world_size = 1;                   ///< ranks
  std::int64_t micro_batch = 1;         ///< sequences per rank per forward
  std::int64_t grad_accum = 1;          ///< micro-batches per optimizer step
  std::int64_t seq_len = 0;             ///< tokens per sequence
  std::int64_t steps = 0;               ///< optimizer steps run
  std::optional<double> predicted_step_time_s;
  std::optional<double> measured_step_time_s;
  std::optional<std::int64_t> predicted_peak_bytes;  ///< per device
  std::optional<std::int64_t> measured_peak_bytes;   ///< per device
  std::optional<double> tokens_per_s;   ///< whole job
  std::optional<double> mfu;            ///< model FLOPs utilisation, 0..1
  /// Last training loss; a NaN (a diverged run) is stored as NULL and reads back empty.
  std::optional<double> final_loss;
  std::string run_dir;                  ///< output/checkpoint directory; empty when none
  nlohmann::json extra_json = nlohmann::json::object();  ///< free-form facts; must be an object
};

/// Filters of list_trials; empty strings and limit 0 mean "any".
struct TrialQuery {
  std::string machine_fingerprint;
  std::string config_hash;
  std::string source;  ///< "train" | "tune" | "bench" or empty
  int limit = 0;       ///< at most this many rows, newest first; 0 = all
};

/// Validates `trial` and inserts it in one transaction; returns its id. Throws UsageError naming
/// the field (`trial.source`, `trial.profile_id`, ...) with what was expected when a value is
/// out of range, and RuntimeError when the database fails.
std::int64_t record_trial(Store& store, const Trial& trial);

/// Stored trials matching `query`, newest first (created_at, then id). Throws UsageError for
/// an unknown source or a negative limit.
std::vector<Trial> list_trials(Store& store, const TrialQuery& query = {});

/// The trial with row id `id`, or nothing.
std::optional<Trial> find_trial(Store& store, std::int64_t id);

/// Every field by its column name; NULLs as JSON null, model/plan/extra as nested objects.
nlohmann::json to_json(const Trial& trial);

/// The SQL of the schema step that adds the trials table (for migrations.cpp).
const char* trial_tables_sql();

}  // namespace ds::profiles
