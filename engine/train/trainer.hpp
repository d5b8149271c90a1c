#pragma once
// The training loop behind `ds train`: model, data, mixed-precision optimizer, LR schedule,
// checkpoints and measured metrics for one data-parallel rank. One optimizer step is
// gradient_accumulation_steps micro-batches of train_micro_batch_size_per_gpu windows of seq_len
// tokens; each micro-batch's loss is divided by the accumulation count before backward, as
// DeepSpeed's engine.backward does, so the update equals one step on the concatenated batch.
//
// With several ranks (ZeRO stage 0, plain data parallelism) every rank draws its own windows
// (WindowSampler shards by rank), gradients are averaged with one all-reduce per parameter group
// before the unscale/clip/update, and the reported loss is the mean over ranks. Rank 0 writes
// checkpoints, the metrics log and the trial row.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "configs/config.hpp"
#include "estimators/model_spec.hpp"

namespace ds::comm {
class Communicator;
}
namespace ds::engine::model {
class CausalLM;
}

namespace ds::engine::train {

/// Everything a Trainer needs, already resolved (see train_setup.hpp): no "auto" is left in the
/// config and the batch rule has been applied for `world_size` ranks.
struct TrainerOptions {
  configs::Config config;               ///< resolved; its batch keys are the three numbers below
  estimators::ModelSpec model;
  std::string model_name;               ///< what the user named (preset or path), for logs and trials
  std::filesystem::path data;           ///< training token file
  std::filesystem::path run_dir;        ///< checkpoints (DIR/<tag>, DIR/latest), metrics.jsonl, ds_config.json
  std::int64_t steps = 0;               ///< train until this global step (a resumed run stops at the same step)
  std::int64_t seq_len = 0;             ///< tokens per window
  std::int64_t micro_batch = 1;         ///< windows per micro-batch on this rank
  std::int64_t grad_accum = 1;          ///< micro-batches per optimizer step
  torch::Device device = torch::kCPU;
  bool resume = true;                   ///< continue from run_dir's newest checkpoint when there is one
  std::int64_t save_every = 0;          ///< steps between checkpoints; 0: only at the end
  int keep_checkpoints = 2;             ///< newest checkpoints kept; 0 keeps all
  bool save_at_end = true;
  double peak_flops_per_s = 0;          ///< per rank, for MFU; 0: unknown (MFU reported as 0)
  std::filesystem::path json_log;       ///< one JSON line per step; "" = run_dir/metrics.jsonl
  std::filesystem::path eval_data;      ///< token file evaluated every eval_every steps ("" = none)
  std::int64_t eval_every = 0;          ///< steps between evaluations (and at the end); 0 = never
  std::int64_t eval_max_windows = 64;   ///< windows of seq_len tokens per evaluation (from the file's start)
  comm::Communicator* comm = nullptr;   ///< data-parallel group; null: a single process
};

/// What one optimizer step did and measured. Loss is the mean over micro-batches and ranks.
struct StepMetrics {
  std::int64_t step = 0;           ///< global step after this one (1-based)
  double loss = 0;
  double lr = 0;                   ///< the learning rate this step used
  double grad_norm = 0;            ///< global L2 norm before clipping
  double loss_scale = 1;
  bool skipped = false;            ///< overflow: no update applied
  std::string event;               ///< loss-scaler message or skip reason
  std::int64_t tokens = 0;         ///< tokens this step, all ranks
  std::int64_t total_tokens = 0;   ///< tokens since the run began (across resumes)
  double step_time_s = 0;
  double tokens_per_s = 0;         ///< all ranks
  double mfu = 0;                  ///< model FLOPs utilisation (estimators/flops.hpp), 0 when the peak is unknown
  std::int64_t peak_bytes = 0;     ///< peak live tensor bytes on this rank's device during the step
  std::optional<double> eval_loss; ///< mean cross-entropy on eval_data, on the steps that evaluate (rank 0)
};

/// One JSON object per step: the fields above under their names.
nlohmann::ordered_json to_json(const StepMetrics& m);

/// The end of a run.
struct TrainSummary {
  std::int64_t first_step = 0;          ///< global step the run started from (0, or the resumed step)
  std::int64_t last_step = 0;
  double final_loss = 0;
  std::optional<double> final_eval_loss;  ///< the last evaluation, when the run evaluates
  double mean_step_time_s = 0;          ///< over the steps after the first (which warms up)
  double tokens_per_s = 0;              ///< all ranks, over the same steps
  double mfu = 0;
  std::int64_t peak_bytes = 0;          ///< measured peak over the run, this rank
  double predicted_peak_bytes = 0;      ///< the estimator's tensor peak for the same plan
  nlohmann::ordered_json memory;        ///< measured bytes by category (params, optimizer_states, ...)
  std::int64_t offload_bytes = 0;       ///< measured peak of the offload tier (host memory), this rank
  double predicted_offload_bytes = 0;   ///< the estimator's CPU memory for the same plan, this rank
  std::int64_t nvme_bytes = 0;          ///< measured peak of this rank's NVMe swap files
  double predicted_nvme_bytes = 0;      ///< the estimator's NVMe bytes for the same plan, this rank
  std::filesystem::path checkpoint;     ///< the last checkpoint written ("" = none)
  std::int64_t skipped_steps = 0;
};

class Trainer {
 public:
  /// Builds the model (seeded), optimizer, schedule and sampler; resumes from run_dir when asked
  /// and a checkpoint is there. Throws ConfigError/UsageError for inputs that cannot work (token
  /// ids beyond the model's vocabulary, a window longer than the file, ...).
  explicit Trainer(TrainerOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// One optimizer step.
  StepMetrics train_step();
  /// Runs until options.steps, saving every save_every steps and at the end; calls `on_step`
  /// after every step (from this thread).
  TrainSummary run(const std::function<void(const StepMetrics&)>& on_step = {});
  /// Mean cross-entropy of the current model on options.eval_data (rank 0 only; the model is put
  /// in eval mode for it and back into training mode after).
  double evaluate();
  /// Saves a checkpoint of the current state into run_dir (rank 0 writes, all ranks wait) and
  /// returns its directory.
  std::filesystem::path save();

  std::int64_t global_step() const;
  /// The tag resumed from, or "" for a fresh run.
  const std::string& resumed_from() const;
  /// The estimator's predicted tensor peak for this run's plan (bytes, this rank).
  double predicted_peak_bytes() const;
  /// Measured bytes by category so far.
  nlohmann::ordered_json memory_categories() const;
  model::CausalLM& model();
  const TrainerOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ds::engine::train
