#include "estimators/memory_estimate.hpp"

#include <algorithm>
#include <cstdio>

#include "common/units.hpp"
#include "estimators/activation_memory.hpp"
#include "estimators/buffer_memory.hpp"
#include "estimators/ds_zero_memory.hpp"
#include "estimators/model_states_memory.hpp"
#include "estimators/runtime_overhead.hpp"

namespace ds::estimators {
namespace {

// The peak of `items` at `where`: what is always live plus the fullest moment (Phase).
double peak_of(const std::vector<MemoryItem>& items, Location where) {
  double always = 0, fb = 0, fb_activations = 0, blocks = 0, end = 0, step = 0;
  for (const auto& i : items) {
    if (i.location != where) continue;
    if (i.phase == Phase::kAlways) always += i.bytes;
    if (i.phase == Phase::kForwardBackward) fb += i.bytes;
    if (i.phase == Phase::kForwardBackward &&
        (i.category == Category::kLogitsAndLoss || i.category == Category::kActivations)) {
      fb_activations += i.bytes;
    }
    if (i.phase == Phase::kBlockBackward) blocks += i.bytes;
    if (i.phase == Phase::kBackwardEnd) end += i.bytes;
    if (i.phase == Phase::kOptimizerStep) step += i.bytes;
  }
  return always + std::max({fb, fb - fb_activations + blocks, end, step});
}

std::vector<MemoryItem> activation_items(const ModelSpec& model, const Plan& plan) {
  ActivationMemory a = activation_memory(model, plan);
  char detail[160];
  std::snprintf(detail, sizeof detail, "%lld layers x %lld micro-batch(es) x %s per layer (checkpointing %s)",
                static_cast<long long>(a.layers_on_stage), static_cast<long long>(a.in_flight),
                format_bytes(a.layer.saved(plan.checkpointing)).c_str(),
                std::string(checkpointing_name(plan.checkpointing)).c_str());
  std::vector<MemoryItem> out;
  out.push_back({Category::kActivations, Location::kDevice, Phase::kForwardBackward, a.activations_item(), detail});
  out.push_back({Category::kLogitsAndLoss, Location::kDevice, Phase::kForwardBackward, a.logits_item(),
                 "logits s x b x vocab/tp in " + std::string(dtype_name(plan.dtype)) + " + fp32 log-probs and gradient"});
  if (plan.ds_zero_optimizer() && plan.ds_zero_sharded() && plan.zero_stage >= 2) {
    // ds's ZeRO-2/3 buckets fill while blocks run backward: that moment's activations, priced
    // beside them (Phase::kBlockBackward), not the fuller of forward/backward's moments.
    out.push_back({Category::kActivations, Location::kDevice, Phase::kBlockBackward, a.block_backward_bytes(),
                   "while a block runs backward (its recomputation and workspace; no logits)"});
  }
  return out;
}

}  // namespace

std::string_view category_name(Category c) {
  switch (c) {
    case Category::kParams: return "params";
    case Category::kMasterParams: return "master_params";
    case Category::kGradients: return "gradients";
    case Category::kGradAccumFp32: return "grad_accum_fp32";
    case Category::kOptimizerStates: return "optimizer_states";
    case Category::kActivations: return "activations";
    case Category::kLogitsAndLoss: return "logits_and_loss";
    case Category::kCommBuckets: return "comm_buckets";
    case Category::kGatheredParams: return "gathered_params";
    case Category::kStepTemporaries: return "optimizer_step_temp";
    case Category::kSwapBuffers: return "swap_buffers";
    case Category::kRuntime: return "runtime";
    case Category::kFragmentation: return "fragmentation";
  }
  return "unknown";
}

std::string_view location_name(Location l) {
  switch (l) {
    case Location::kDevice: return "device";
    case Location::kCpu: return "cpu";
    case Location::kNvme: return "nvme";
  }
  return "device";
}

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::kAlways: return "always";
    case Phase::kForwardBackward: return "forward_backward";
    case Phase::kBlockBackward: return "block_backward";
    case Phase::kBackwardEnd: return "backward_end";
    case Phase::kOptimizerStep: return "optimizer_step";
  }
  return "always";
}

double MemoryEstimate::bytes(Category c, Location l) const {
  double sum = 0;
  for (const auto& i : items) {
    if (i.category == c && i.location == l) sum += i.bytes;
  }
  return sum;
}

double MemoryEstimate::total(Location l) const {
  double sum = 0;
  for (const auto& i : items) {
    if (i.location == l) sum += i.bytes;
  }
  return sum;
}

MemoryEstimate estimate_memory(const ModelSpec& model, const ParamCount& count, const profiles::ClusterSpec& cluster,
                               const Plan& plan) {
  MemoryEstimate est;
  est.ranks_per_node = cluster.gpus_per_node;
  const std::int64_t params = params_per_rank(count, model.layers, plan.tp, plan.pp);
  auto append = [&est](std::vector<MemoryItem> items) {
    for (auto& i : items) est.items.push_back(std::move(i));
  };
  append(model_states_memory(params, plan));
  append(activation_items(model, plan));
  const bool cpu_device = cluster.device == profiles::DeviceKind::kCpu;
  append(buffer_memory(count, params, plan, cpu_device));
  if (plan.ds_zero_optimizer()) append(ds_zero_buffers(count, model.layers, params, plan, cpu_device));
  // Host and NVMe items above are per rank; a node holds ranks_per_node of them.
  for (auto& i : est.items) {
    if (i.location != Location::kDevice) i.bytes *= est.ranks_per_node;
  }
  append(runtime_overhead_memory(cluster, peak_of(est.items, Location::kDevice)));
  est.device_peak_bytes = peak_of(est.items, Location::kDevice);
  est.cpu_peak_bytes_per_node = peak_of(est.items, Location::kCpu);
  est.nvme_bytes_per_node = peak_of(est.items, Location::kNvme);
  return est;
}

MemoryEstimate estimate_memory(const ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& plan) {
  validate_plan(plan, model, cluster.world_size());
  return estimate_memory(model, count_params(model), cluster, plan);
}

double tensor_peak_bytes(const MemoryEstimate& estimate, Location where) {
  std::vector<MemoryItem> tensors;
  for (const MemoryItem& i : estimate.items) {
    if (i.category != Category::kRuntime && i.category != Category::kFragmentation) tensors.push_back(i);
  }
  return peak_of(tensors, where);
}

FitCheck check_fit(const MemoryEstimate& est, const profiles::ClusterSpec& cluster) {
  FitCheck fit;
  fit.nvme_headroom_bytes = cluster.nvme_bytes_per_node - est.nvme_bytes_per_node;
  if (cluster.device == profiles::DeviceKind::kCpu) {
    // The ranks and everything "offloaded" share the node's RAM.
    fit.cpu_headroom_bytes =
        cluster.cpu_memory_per_node_bytes - est.cpu_peak_bytes_per_node - est.ranks_per_node * est.device_peak_bytes;
    fit.device_headroom_bytes = fit.cpu_headroom_bytes / est.ranks_per_node;
  } else {
    fit.device_headroom_bytes = cluster.device_memory_bytes - est.device_peak_bytes;
    fit.cpu_headroom_bytes = cluster.cpu_memory_per_node_bytes - est.cpu_peak_bytes_per_node;
  }
  if (fit.device_headroom_bytes < 0) fit.limit = "device";
  else if (fit.cpu_headroom_bytes < 0) fit.limit = "cpu";
  else if (fit.nvme_headroom_bytes < 0) fit.limit = "nvme";
  fit.fits = fit.limit.empty();
  return fit;
}

std::int64_t largest_micro_batch(const ModelSpec& model, const ParamCount& count, const profiles::ClusterSpec& cluster,
                                 Plan plan) {
  auto fits = [&](std::int64_t mb) {
    plan.micro_batch = mb;
    return check_fit(estimate_memory(model, count, cluster, plan), cluster).fits;
  };
  if (!fits(1)) return 0;
  // Memory grows monotonically with the micro-batch: double to bracket, then bisect.
  constexpr std::int64_t kMax = std::int64_t{1} << 24;
  std::int64_t good = 1, bad = 2;
  while (bad <= kMax && fits(bad)) {
    good = bad;
    bad *= 2;
  }
  if (bad > kMax) return good;
  while (bad - good > 1) {
    std::int64_t mid = good + (bad - good) / 2;
    (fits(mid) ? good : bad) = mid;
  }
  return good;
}

}  // namespace ds::estimators
