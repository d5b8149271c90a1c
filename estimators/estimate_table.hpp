#pragma once
// The default view of `ds estimate memory`: one row per ZeRO stage x offload combination for a
// cluster, each with its peaks, whether it fits and the largest micro-batch that does.
#include <cstdint>
#include <string>
#include <vector>

#include "estimators/memory_estimate.hpp"

namespace ds::estimators {

/// One row of the table.
struct TableRow {
  Plan plan;                          ///< the base plan with this row's stage and offload
  std::vector<std::string> problems;  ///< why this combination cannot run; empty when estimated
  MemoryEstimate estimate;            ///< at the base plan's micro-batch
  FitCheck fit;
  std::int64_t largest_micro_batch = 0;  ///< 0 when not even one sequence fits
};

/// The stage/offload combinations of the table, in order: 0; 1; 1+cpu; 2; 2+cpu; 3; 3+cpu;
/// 3+cpu/cpu; 3+nvme; 3+nvme/nvme. On a CPU cluster offloading to the CPU is no move at all,
/// so those rows are left out.
std::vector<Plan> table_plans(const Plan& base, profiles::DeviceKind device);

/// Estimates every row. Problems of the base plan that no row can avoid (tp not dividing the
/// heads, a world size mismatch...) throw UsageError instead.
std::vector<TableRow> estimate_table(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& base);

}  // namespace ds::estimators
