#pragma once
// `ds tune --measure K`: run the top K plans (and a few exploration picks further down) for a few
// steps each through `ds train`, record each as a trial, recalibrate the cost model from this
// machine's trials, re-rank, and report predicted against measured.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autotune/calibration.hpp"
#include "autotune/calibration_store.hpp"
#include "autotune/config_emitter.hpp"
#include "autotune/tuner.hpp"

namespace ds::profiles {
class Store;
}

namespace ds::autotune {

/// What one measured run gave.
struct MeasuredRun {
  std::string status = "ok";              ///< "ok" | "oom" | "failed" (the trials table's words)
  std::optional<double> step_time_s;      ///< mean step time after the first
  std::optional<double> tokens_per_s;
  std::optional<std::int64_t> trial_id;   ///< the trial `ds train` recorded
  std::string error;                      ///< the last line of what it said when it failed
  std::vector<double> step_times_s;       ///< every timed step (after the first), when the runner saw them
};

/// Runs one config for a few steps. The real one starts `ds train` (autotune/train_runner.hpp);
/// tests use a fake.
class TrialRunner {
 public:
  virtual ~TrialRunner() = default;
  /// `index` numbers the runs of one measurement from 0 (for run directories).
  virtual MeasuredRun run(const configs::Config& config, const estimators::Plan& plan, int index) = 0;
};

/// Settings of --measure.
struct MeasureOptions {
  int top = 1;                       ///< the best K plans
  int explore = 2;                   ///< plus this many picks spread over the rest of the top-k list
  EmitOptions emit;                  ///< model, data, steps, run directory of each config
  std::string machine_fingerprint;   ///< whose trials calibrate
  CalibrationOptions calibration;
  /// What one run's step time is: "mean" (ds train's own trial, every step after the first),
  /// "median" or "min" of its steps. Other than "mean", the tuner records a trial of its own with
  /// that figure, which supersedes ds train's for calibration. On a machine other jobs share,
  /// contention only ever adds time, so "min" is the closest to the plan's own speed.
  std::string statistic = "mean";
};

/// One measured plan.
struct MeasuredPlan {
  int rank = 0;                      ///< its rank before measuring (1 = the first)
  RankedPlan ranked;                 ///< plan and prediction before recalibration
  double predicted_after_s = 0;      ///< step time predicted after recalibration
  MeasuredRun run;
};

/// The outcome of --measure.
struct MeasureReport {
  std::vector<MeasuredPlan> plans;
  std::optional<Calibration> calibration;  ///< empty when there were too few trials to fit
  std::int64_t calibration_id = 0;         ///< stored fit (0: none)
  std::string cluster_source;              ///< the cluster the fit is for (ClusterSpec::source)
  std::string calibration_note;            ///< why there is no fit
  MemoryCorrection memory;                 ///< from the machine's out-of-memory trials, applied to the re-ranking
  TuneResult reranked;                     ///< the search again with the new coefficients
};

/// The `statistic` ("mean", "median", "min") of `times`; UsageError naming --measure-stat otherwise.
double step_statistic(std::vector<double> times, const std::string& statistic);

/// Ranks chosen for measuring: 1..top, then `explore` ranks spread evenly over top+1..available.
std::vector<int> measure_picks(int top, int explore, int available);

/// Measures the picks of `result`, records failed runs as trials (source "tune"), fits the
/// coefficients to every finished trial of this machine (if there are enough), stores the fit
/// for `cluster.source`, and tunes again with it.
MeasureReport measure_plans(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                            const TuneOptions& options, const TuneResult& result, TrialRunner& runner,
                            profiles::Store& store, const MeasureOptions& measure);

/// {"plans": [{"rank", "plan", "predicted_s", "predicted_after_s", "status", "measured_s",
/// "trial_id", "error"}], "calibration": calibration_json or null, "note"}.
nlohmann::json measure_json(const MeasureReport& report);

/// Predicted (before, after) against measured, per plan, and the calibration line.
std::string render_measure(const MeasureReport& report);

}  // namespace ds::autotune
