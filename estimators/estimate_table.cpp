#include "estimators/estimate_table.hpp"

namespace ds::estimators {

std::vector<Plan> table_plans(const Plan& base, profiles::DeviceKind device) {
  using O = OffloadDevice;
  struct Combo {
    int stage;
    O optimizer, param;
  };
  static const Combo kCombos[] = {{0, O::kNone, O::kNone}, {1, O::kNone, O::kNone}, {1, O::kCpu, O::kNone},
                                  {2, O::kNone, O::kNone}, {2, O::kCpu, O::kNone},  {3, O::kNone, O::kNone},
                                  {3, O::kCpu, O::kNone},  {3, O::kCpu, O::kCpu},   {3, O::kNvme, O::kNone},
                                  {3, O::kNvme, O::kNvme}};
  std::vector<Plan> out;
  for (const auto& c : kCombos) {
    bool to_cpu = c.optimizer == O::kCpu || c.param == O::kCpu;
    if (device == profiles::DeviceKind::kCpu && to_cpu) continue;
    Plan p = base;
    p.zero_stage = c.stage;
    p.offload_optimizer = c.optimizer;
    p.offload_param = c.param;
    out.push_back(p);
  }
  return out;
}

std::vector<TableRow> estimate_table(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& base) {
  // Stage 0 without offload conflicts with nothing stage-specific: what is wrong with it is wrong
  // with every row.
  Plan plain = base;
  plain.zero_stage = 0;
  plain.offload_optimizer = plain.offload_param = OffloadDevice::kNone;
  validate_plan(plain, model, cluster.world_size());

  const ParamCount count = count_params(model);
  std::vector<TableRow> rows;
  for (const Plan& plan : table_plans(base, cluster.device)) {
    TableRow row;
    row.plan = plan;
    row.problems = plan_problems(plan, model, cluster.world_size());
    if (row.problems.empty()) {
      row.estimate = estimate_memory(model, count, cluster, plan);
      row.fit = check_fit(row.estimate, cluster);
      row.largest_micro_batch = largest_micro_batch(model, count, cluster, plan);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ds::estimators
