#pragma once
// The row `ds train` leaves in the trials table: what ran, where, what the estimators predicted
// and what was measured. The tuner calibrates its cost model from these rows.
#include <filesystem>
#include <string>

#include "engine/train/trainer.hpp"
#include "profiles/trials.hpp"

namespace ds::engine::train {

/// The trial of a finished (status "ok") or failed run. `world_size` is the data-parallel size.
profiles::Trial make_train_trial(const TrainerOptions& options, const TrainSummary& summary, int world_size,
                                 const std::string& status = "ok");

/// Stores `trial` in the database at `db_path` (created and migrated when missing) and returns
/// its id. Throws RuntimeError when the database cannot be written.
std::int64_t store_trial(const std::filesystem::path& db_path, const profiles::Trial& trial);

}  // namespace ds::engine::train
