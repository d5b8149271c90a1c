#pragma once
// What `ds tune` prints: the top-k table, the pruning counts, --explain's term-by-term comparison
// and the --json document.
#include <string>

#include <nlohmann/json.hpp>

#include "autotune/tuner.hpp"

namespace ds::autotune {

/// "zero2 cpu dp4.tp2.pp1 mb4x8 ckpt=none bf16 b=2e8": one plan on one line.
std::string plan_label(const estimators::Plan& plan);

/// The header (model, cluster, counts with pruning reasons) and the top-k table.
std::string render_tune(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                        const TuneOptions& options, const TuneResult& result);

/// Why the first plan beat the next ones: each term side by side and the terms that decided.
std::string render_explain(const TuneResult& result, Objective objective);

/// {"term": seconds, ...} with step_time_s, tokens_per_s, mfu and dominant.
nlohmann::json cost_json(const CostEstimate& cost);
/// One ranked plan: {"plan", "cost", "memory"}.
nlohmann::json ranked_json(const RankedPlan& ranked);
/// The whole run: {"model", "cluster", "objective", "raw_combinations", "skipped", "candidates",
/// "pruned", "feasible", "elapsed_s", "top": [...]}.
nlohmann::json tune_json(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                         const TuneOptions& options, const TuneResult& result);

}  // namespace ds::autotune
