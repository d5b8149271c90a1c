#pragma once
// JSON for `ds estimate ... --json` and the Python bindings. Byte counts are plain numbers of
// bytes; names are the snake_case names used in the text output and in DeepSpeed configs.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "estimators/deepspeed_formula.hpp"
#include "estimators/estimate_table.hpp"

namespace ds::estimators {

nlohmann::json model_json(const ModelSpec& model);
/// {"model": ..., "total": N, "modules": [...], "groups": {...}, ...}
nlohmann::json params_json(const ModelSpec& model, const ParamCount& count);
nlohmann::json cluster_json(const profiles::ClusterSpec& cluster);
nlohmann::json plan_json(const Plan& plan);
/// {"device_peak_bytes", "cpu_peak_bytes_per_node", "nvme_bytes_per_node", "items": [...],
///  "by_category": {"device": {...}, "cpu": {...}, "nvme": {...}}}
nlohmann::json estimate_json(const MemoryEstimate& estimate);
nlohmann::json fit_json(const FitCheck& fit);

/// The table view: {"model", "cluster", "plan", "rows": [...]}.
nlohmann::json table_json(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& base,
                          const std::vector<TableRow>& rows);

/// One plan's breakdown: {"model", "cluster", "plan", "estimate", "fit", "largest_micro_batch"}.
nlohmann::json breakdown_json(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& plan,
                              const MemoryEstimate& estimate, const FitCheck& fit, std::int64_t largest_micro_batch);

/// DeepSpeed's formula rows: {"input": {...}, "rows": [...]}.
nlohmann::json deepspeed_json(const DeepSpeedFormulaInput& input, const std::vector<DeepSpeedFormulaRow>& rows);

}  // namespace ds::estimators
