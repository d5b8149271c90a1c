#pragma once
// Where calibration meets the database: measured trials (profiles/trials.hpp) become
// CalibrationSamples, fitted coefficients are stored per machine and cluster source
// (tune_calibrations, schema step 4) and the latest are read back by `ds tune`.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autotune/calibration.hpp"
#include "profiles/trials.hpp"

namespace ds::profiles {
class Store;
}

namespace ds::autotune {

/// Plan from estimators::plan_json's object; throws UsageError naming `where` and the field.
estimators::Plan plan_from_json(const nlohmann::json& j, const std::string& where);

/// A trial the fit could not use, and why.
struct SkippedTrial {
  std::int64_t trial_id = 0;
  std::string reason;
};

/// The samples of `trials` priced on `cluster` (each trial's ranks as the ranks of one node):
/// only finished ("ok") trials with a measured step time, a plan and a model name ds can load,
/// on the same kind of device as the cluster. The rest are listed in `skipped`.
std::vector<CalibrationSample> samples_from_trials(const std::vector<profiles::Trial>& trials,
                                                   const profiles::ClusterSpec& cluster,
                                                   const CostModelOptions& cost_options,
                                                   std::vector<SkippedTrial>* skipped = nullptr);

/// What out-of-memory trials say about the memory estimator: a trial the estimator let through
/// that ran out of memory shows its device peaks are too low by at least (limit / predicted peak).
struct MemoryCorrection {
  double scale = 1.0;          ///< multiply device peaks by this before the fit check (>= 1)
  std::int64_t trial_id = 0;   ///< the trial that set it; 0: no correction
  std::string note;            ///< one line for the report; empty when scale is 1
};

/// The largest correction any "oom" trial of `trials` on the cluster's kind of device asks for:
/// each is re-estimated on `cluster` (its ranks as one node's) and, where that plan fits, the
/// scale that makes it not fit (1% beyond its limit) is taken. At most `max_scale`; trials ds
/// cannot re-estimate are left out.
MemoryCorrection memory_correction(const std::vector<profiles::Trial>& trials, const profiles::ClusterSpec& cluster,
                                   double max_scale = 4.0);

/// A stored fit.
struct StoredCalibration {
  std::int64_t id = 0;
  std::string created_at;
  std::string machine_fingerprint;
  std::string cluster_source;  ///< ClusterSpec::source the coefficients were fitted for
  Calibration calibration;
};

/// Stores a fit; returns its id.
std::int64_t save_calibration(profiles::Store& store, const std::string& machine_fingerprint,
                              const std::string& cluster_source, const Calibration& calibration);

/// The newest fit for this machine and cluster source, if any.
std::optional<StoredCalibration> latest_calibration(profiles::Store& store, const std::string& machine_fingerprint,
                                                    const std::string& cluster_source);

/// Each trial's measured step next to the prediction before and after the fit, the MAPE and the
/// fitted coefficients (`ds tune calibrate`).
std::string render_calibration(const std::vector<CalibrationSample>& samples, const Calibration& fit,
                               const std::string& cluster_source);

/// {"id", "cluster_source", "trials", "mape_before", "mape_after", "coefficients", "trial_ids"}.
nlohmann::json calibration_json(const Calibration& fit, std::int64_t id, const std::string& cluster_source);

/// {"term": coefficient, ...}
nlohmann::json coefficients_json(const CostCoefficients& c);

}  // namespace ds::autotune
