#include "estimators/model_states_memory.hpp"

#include <cstdio>

#include "estimators/ds_zero_memory.hpp"

namespace ds::estimators {
namespace {

Location location_of(OffloadDevice d) {
  switch (d) {
    case OffloadDevice::kNone: return Location::kDevice;
    case OffloadDevice::kCpu: return Location::kCpu;
    case OffloadDevice::kNvme: return Location::kNvme;
  }
  return Location::kDevice;
}

std::string describe(double bytes_per_param, double params, int partitions) {
  char buf[96];
  if (partitions > 1) {
    std::snprintf(buf, sizeof buf, "%g B x %.4g params / %d partitions", bytes_per_param, params, partitions);
  } else {
    std::snprintf(buf, sizeof buf, "%g B x %.4g params", bytes_per_param, params);
  }
  return buf;
}

MemoryItem item(Category c, Location l, double bytes_per_param, double params, int partitions) {
  return MemoryItem{c, l, Phase::kAlways, bytes_per_param * params / partitions,
                    describe(bytes_per_param, params, partitions)};
}

// What the optimizer side keeps where: partial offload (offload_optimizer.ratio < 1) leaves the
// first sub-groups of each partition on the device.
void add_optimizer_side(std::vector<MemoryItem>& out, Category c, Location at, double bytes_per_param, double params,
                        int partitions, const Plan& plan) {
  const double kept = at == Location::kDevice ? 0 : ds_partial_offload_kept(params / partitions, plan) * partitions;
  if (kept > 0) out.push_back(item(c, Location::kDevice, bytes_per_param, kept, partitions));
  if (params > kept) out.push_back(item(c, at, bytes_per_param, params - kept, partitions));
}

}  // namespace

double optimizer_state_bytes_per_param(const Plan& plan) {
  switch (plan.optimizer) {
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: return 8.0;  // exp_avg and exp_avg_sq in fp32
    case OptimizerKind::kSgd: return plan.sgd_momentum ? 4.0 : 0.0;  // momentum_buffer in fp32
  }
  return 8.0;
}

std::vector<MemoryItem> model_states_memory(std::int64_t params, const Plan& plan) {
  if (plan.ds_zero_optimizer()) return ds_zero_model_states(params, plan);
  const double p = static_cast<double>(params);
  const double w = dtype_bytes(plan.dtype);
  const bool mixed = plan.dtype != DType::kFp32;
  const int n = plan.zero_partitions();
  const int stage = plan.zero_stage;
  // ZeRO stage k partitions: 1 -> optimizer states (and the fp32 master), 2 -> + gradients,
  // 3 -> + parameters (Rajbhandari et al. 2020 §5.1-5.3).
  const int n_optim = stage >= 1 ? n : 1;
  const int n_grads = stage >= 2 ? n : 1;
  const int n_params = stage >= 3 ? n : 1;
  const bool optim_offloaded = plan.offload_optimizer != OffloadDevice::kNone;
  const Location optim_at = location_of(plan.offload_optimizer);

  std::vector<MemoryItem> out;
  Location params_at = stage >= 3 ? location_of(plan.offload_param) : Location::kDevice;
  out.push_back(item(Category::kParams, params_at, w, p, n_params));
  if (mixed) add_optimizer_side(out, Category::kMasterParams, optim_at, 4.0, p, n_optim, plan);
  double optim_bytes = optimizer_state_bytes_per_param(plan);
  if (optim_bytes > 0) add_optimizer_side(out, Category::kOptimizerStates, optim_at, optim_bytes, p, n_optim, plan);

  // Working gradients stay on the device unless ZeRO-Offload streams them out: with stage >= 2
  // each reduced bucket is copied into the CPU fp32 partition at once, so only the bucket
  // (buffer_memory) remains; stage 1 reduces only at the accumulation boundary and keeps them all.
  if (!(optim_offloaded && stage >= 2)) out.push_back(item(Category::kGradients, Location::kDevice, w, p, n_grads));
  if (optim_offloaded) {
    // ZeRO-Offload keeps an fp32 gradient partition beside the CPU optimizer (Ren et al. 2021 §4.1).
    add_optimizer_side(out, Category::kGradAccumFp32, optim_at, 4.0, p, n_optim, plan);
  } else if (mixed && plan.fp32_grad_accumulation_enabled()) {
    out.push_back(item(Category::kGradAccumFp32, Location::kDevice, 4.0, p, n_grads));
  }
  return out;
}

double model_states_device_bytes(std::int64_t params, const Plan& plan) {
  double sum = 0;
  for (const auto& i : model_states_memory(params, plan)) {
    if (i.location == Location::kDevice) sum += i.bytes;
  }
  return sum;
}

}  // namespace ds::estimators
