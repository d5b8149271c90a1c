#pragma once
// The tuner of `ds tune`: walks the search space, prunes every plan the memory estimator says
// does not fit, prices the rest with the cost model and keeps the best k by the objective.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "autotune/cost_model.hpp"
#include "autotune/search_space.hpp"
#include "estimators/memory_estimate.hpp"

namespace ds::autotune {

/// What "best" means.
enum class Objective {
  kThroughput,  ///< "throughput": most tokens/s
  kMemory,      ///< "memory": least device memory per GPU (ties: more tokens/s)
  kCost,        ///< "cost": least device-hours per token (= throughput at a fixed GPU count; ties: less memory)
};
std::string_view objective_name(Objective o);
/// "throughput" | "memory" | "cost"; UsageError naming `what` otherwise.
Objective parse_objective(std::string_view text, const std::string& what);

/// Settings of one tuning run.
struct TuneOptions {
  SearchSpaceOptions space;
  CostModelOptions cost;
  Objective objective = Objective::kThroughput;
  int top_k = 10;  ///< plans kept in the result, best first
  /// Device peaks are multiplied by this before pruning: >1 after runs the estimator let
  /// through ran out of memory (memory_correction in autotune/calibration_store.hpp).
  double memory_scale = 1.0;
};

/// One ranked plan.
struct RankedPlan {
  estimators::Plan plan;
  CostEstimate cost;
  double device_peak_bytes = 0;        ///< per GPU (per rank on a CPU run)
  double cpu_peak_bytes_per_node = 0;  ///< host RAM per node
  double nvme_bytes_per_node = 0;
};

/// The outcome of a tuning run.
struct TuneResult {
  std::int64_t raw_combinations = 0;  ///< product of the axis sizes
  SkipCounts skipped;                 ///< combinations that are not plans
  std::int64_t candidates = 0;        ///< valid plans considered
  /// Plans pruned before ranking, by reason: "device memory", "cpu memory", "nvme", or
  /// "no <rate>" when the cluster lacks a rate the plan needs.
  std::map<std::string, std::int64_t> pruned;
  std::int64_t feasible = 0;          ///< ranked plans
  std::vector<RankedPlan> top;        ///< best first, at most top_k
  double elapsed_s = 0;               ///< wall time of the search

  std::int64_t pruned_total() const;
};

/// Runs the search. Throws UsageError for bad options (see SearchSpace) and when no plan fits,
/// naming how many were pruned for which reason.
TuneResult tune(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, const TuneOptions& options);

/// Whether `a` ranks before `b` under `objective`.
bool ranks_before(const RankedPlan& a, const RankedPlan& b, Objective objective);

/// The grad_accum the memory estimate of `plan` depends on: the micro-batches a pipeline keeps
/// in flight, min(pp, grad_accum), when pp > 1; otherwise none (1). The tuner shares one memory
/// estimate between plans that differ only beyond it.
std::int64_t memory_grad_accum(const estimators::Plan& plan);

/// The RankedPlan of one given plan (memory and cost), for --explain and --measure reports.
RankedPlan rank_one(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                    const estimators::Plan& plan, const CostModel& cost);

}  // namespace ds::autotune
