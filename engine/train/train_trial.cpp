#include "engine/train/train_trial.hpp"

#include <cmath>

#include "common/sha256.hpp"
#include "configs/config_io.hpp"
#include "estimators/estimate_json.hpp"
#include "estimators/plan_from_config.hpp"
#include "profiles/machine_info.hpp"
#include "profiles/store.hpp"

namespace ds::engine::train {

profiles::Trial make_train_trial(const TrainerOptions& options, const TrainSummary& summary, int world_size,
                                 const std::string& status) {
  profiles::Trial t;
  t.source = "train";
  t.status = status;
  t.model = options.model_name;
  t.model_json = estimators::model_json(options.model);
  // The plan as this engine ran it (ZeRO-3 recomputing every block), which is what a cost model fits.
  t.plan_json =
      estimators::plan_json(estimators::as_run_by_ds(estimators::plan_from_config(options.config, options.model, world_size)));
  configs::WriteOptions canonical;
  canonical.all_keys = true;
  canonical.indent = -1;
  t.config_hash = sha256_hex(configs::to_json(options.config, canonical));
  t.machine_fingerprint = profiles::read_machine_info().fingerprint();
  t.device = options.device.str();
  t.world_size = world_size;
  t.micro_batch = options.micro_batch;
  t.grad_accum = options.grad_accum;
  t.seq_len = options.seq_len;
  t.steps = summary.last_step - summary.first_step;
  if (summary.mean_step_time_s > 0) {
    t.measured_step_time_s = summary.mean_step_time_s;
    t.tokens_per_s = summary.tokens_per_s;
  }
  if (summary.mfu > 0) t.mfu = summary.mfu;
  if (summary.predicted_peak_bytes > 0) t.predicted_peak_bytes = static_cast<std::int64_t>(summary.predicted_peak_bytes);
  if (summary.peak_bytes > 0) t.measured_peak_bytes = summary.peak_bytes;
  if (std::isfinite(summary.final_loss) && t.steps > 0) t.final_loss = summary.final_loss;
  t.run_dir = options.run_dir.string();
  t.extra_json = {{"memory", summary.memory},
                  {"first_step", summary.first_step},
                  {"last_step", summary.last_step},
                  {"skipped_steps", summary.skipped_steps},
                  {"data", options.data.string()}};
  return t;
}

std::int64_t store_trial(const std::filesystem::path& db_path, const profiles::Trial& trial) {
  if (db_path.has_parent_path()) std::filesystem::create_directories(db_path.parent_path());
  profiles::Store store(db_path);
  return profiles::record_trial(store, trial);
}

}  // namespace ds::engine::train
