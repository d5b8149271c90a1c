#pragma once
// Text output of `ds estimate`: aligned tables with GiB to 2 decimals (common/table.hpp).
// Returns strings; the CLI prints them.
#include <cstdint>
#include <string>
#include <vector>

#include "estimators/deepspeed_formula.hpp"
#include "estimators/estimate_table.hpp"

namespace ds::estimators {

/// "llama-2-7b (llama): 6,738,415,616 params; 32 layers, hidden 4096, ..." -- one line.
std::string describe_model(const ModelSpec& model, const ParamCount& count);
/// "1 node x 8 NVIDIA H100 80GB HBM3 (79.65 GiB each), ... [preset h100-80g]" -- one line.
std::string describe_cluster(const profiles::ClusterSpec& cluster);
/// "bf16 adamw, micro-batch 1 x seq 4096, grad-accum 1, dp 8 tp 1 pp 1 sp 1, ..." -- one line.
std::string describe_plan(const Plan& plan);

/// `ds estimate params`: one row per module with per-instance and total counts, then groups.
std::string render_params(const ModelSpec& model, const ParamCount& count);

/// `ds estimate memory` default view: the stage x offload table and notes on impossible rows.
std::string render_memory_table(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& base,
                                const std::vector<TableRow>& rows);

/// One plan's category breakdown with the peak, fit and largest micro-batch.
std::string render_breakdown(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& plan,
                             const MemoryEstimate& estimate, const FitCheck& fit, std::int64_t largest_micro_batch);

/// DeepSpeed's formula table ("per CPU | per GPU | Options").
std::string render_deepspeed_formula(const ModelSpec& model, const DeepSpeedFormulaInput& input,
                                     const std::vector<DeepSpeedFormulaRow>& rows);

/// `ds estimate presets`: model presets with their counts, then hardware presets.
std::string render_presets();

}  // namespace ds::estimators
