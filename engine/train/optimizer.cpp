#include "engine/train/optimizer.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "kernels/cpu/adam.hpp"

namespace ds::engine::train {
namespace {

// Elements per chunk: 1 MiB of fp32 per operand, so one chunk's operands stay in L2/L3 across
// the element-wise passes of an update done with tensor ops (SGD; Adam off the CPU); also the
// grain of the fused CPU Adam loop. Performance-critical: benchmark any change.
constexpr std::int64_t kChunk = 1 << 18;

void check_range(bool ok, const std::string& key, const std::string& what, double got) {
  if (!ok) {
    std::ostringstream os;
    os << got;
    throw ConfigError(format_error("optimizer.params." + key, what, os.str()));
  }
}

void check_options(const OptimizerOptions& o) {
  check_range(o.beta1 >= 0 && o.beta1 < 1, "betas[0]", "must be in [0, 1)", o.beta1);
  check_range(o.beta2 >= 0 && o.beta2 < 1, "betas[1]", "must be in [0, 1)", o.beta2);
  check_range(o.eps >= 0, "eps", "must be >= 0", o.eps);
  check_range(o.weight_decay >= 0, "weight_decay", "must be >= 0", o.weight_decay);
  check_range(o.momentum >= 0, "momentum", "must be >= 0", o.momentum);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
    // torch.optim.SGD: "Nesterov momentum requires a momentum and zero dampening".
    throw ConfigError(format_error("optimizer.params.nesterov", "needs momentum > 0 and dampening 0", "", "",
                                   "set optimizer.params.momentum (e.g. 0.9) or drop nesterov"));
  }
}

/// One Adam/AdamW update's constants (torch 1.13 _single_tensor_adam(w)).
struct AdamStep {
  bool decay = false;       ///< AdamW with weight decay: p *= decay_factor first
  bool l2 = false;          ///< Adam with weight decay: grad + wd * p
  double wd = 0, decay_factor = 1, b1 = 0, b2 = 0, bc2_sqrt = 1, eps = 0, step_size = 0;
};

// The same update as the tensor ops in Optimizer::adam_step, fused into one pass per element.
// Each LibTorch op is its own OpenMP region, and on a busy machine every region's barrier can wait
// a scheduler slice for a preempted thread: the eight ops per chunk (~420 regions for ds-small)
// cost over a second per step with two threads (docs/performance.md); this is one region per step.
// Arithmetic in float with the constants rounded to float, as ATen's fp32 CPU kernels do.
void adam_cpu_fused(const AdamStep& a, const torch::Tensor& params, const torch::Tensor& grad,
                    const torch::Tensor& exp_avg, const torch::Tensor& exp_avg_sq) {
  const float decay_factor = static_cast<float>(a.decay_factor), wd = static_cast<float>(a.wd);
  const float b1 = static_cast<float>(a.b1), one_minus_b1 = static_cast<float>(1.0 - a.b1);
  const float b2 = static_cast<float>(a.b2), one_minus_b2 = static_cast<float>(1.0 - a.b2);
  const float bc2_sqrt = static_cast<float>(a.bc2_sqrt), eps = static_cast<float>(a.eps);
  const float neg_step_size = static_cast<float>(-a.step_size);
  const bool decay = a.decay, l2 = a.l2;
  float* p = params.data_ptr<float>();
  const float* d = grad.data_ptr<float>();
  float* m = exp_avg.data_ptr<float>();
  float* v = exp_avg_sq.data_ptr<float>();
  at::parallel_for(0, params.numel(), kChunk, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      float pi = p[i], gi = d[i];
      if (decay) pi *= decay_factor;
      if (l2) gi += wd * pi;
      const float mi = m[i] * b1 + one_minus_b1 * gi;
      const float vi = v[i] * b2 + one_minus_b2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi + neg_step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
    }
  });
}

}  // namespace

std::string to_string(UpdateRule rule) {
  switch (rule) {
    case UpdateRule::kAdam: return "Adam";
    case UpdateRule::kAdamW: return "AdamW";
    case UpdateRule::kSgd: return "SGD";
  }
  return "?";
}

OptimizerOptions optimizer_options(const configs::OptimizerConfig& config) {
  using configs::OptimizerType;
  const configs::OptimizerParams& p = config.params;
  OptimizerOptions o;
  switch (config.type) {
    case OptimizerType::kNone:
    case OptimizerType::kAdamW: o.rule = UpdateRule::kAdamW; break;
    case OptimizerType::kAdam: o.rule = p.adam_w_mode ? UpdateRule::kAdamW : UpdateRule::kAdam; break;
    case OptimizerType::kSGD: o.rule = UpdateRule::kSgd; break;
    default:
      throw ConfigError(format_error("optimizer.type", "not supported by ds's trainer",
                                     "\"" + configs::to_string(config.type) + "\"", "Adam, AdamW or SGD"));
  }
  if (o.rule != UpdateRule::kSgd && p.amsgrad) {
    throw ConfigError(format_error("optimizer.params.amsgrad", "not supported", "true", "false",
                                   "DeepSpeed's FusedAdam and CPU Adam do not support it either"));
  }
  o.beta1 = p.betas[0];
  o.beta2 = p.betas[1];
  o.eps = p.eps;
  o.weight_decay = p.weight_decay;
  o.bias_correction = p.bias_correction;
  o.momentum = p.momentum;
  o.dampening = p.dampening;
  o.nesterov = p.nesterov;
  check_options(o);
  return o;
}

Optimizer::Optimizer(const OptimizerOptions& options) : options_(options) { check_options(options_); }

void Optimizer::offload_states(StateAllocator allocate) {
  if (!groups_.empty()) throw RuntimeError("optimizer: offload_states after add_group");
  allocate_ = std::move(allocate);
}

void Optimizer::swap_states_to_nvme(const offload::NvmeOptions& options) {
  if (!groups_.empty()) throw RuntimeError("optimizer: swap_states_to_nvme after add_group");
  if (!allocate_) throw RuntimeError("optimizer: NVMe swapping needs offload_states first");
  if (options_.rule == UpdateRule::kSgd) {
    throw ConfigError(format_error("zero_optimization.offload_optimizer.device", "NVMe offload needs Adam or AdamW",
                                   "\"nvme\" with SGD", "", "use offload_optimizer.device cpu with SGD"));
  }
  nvme_ = options;
}

std::vector<std::string> Optimizer::state_kinds(const Group& g) const {
  if (options_.rule == UpdateRule::kSgd) {
    return g.momentum_buffer.defined() ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
  }
  return {"exp_avg", "exp_avg_sq"};
}

void offload_to_host(Optimizer& optimizer, const torch::Device& device, const std::optional<offload::NvmeOptions>& nvme) {
  optimizer.offload_states([device](std::int64_t n) { return offload::HostTier::zeros(n, device); });
  if (nvme) optimizer.swap_states_to_nvme(*nvme);
}

torch::Tensor Optimizer::zeros(const torch::Tensor& like) const {
  return allocate_ ? allocate_(like.numel()) : torch::zeros_like(like);
}

std::size_t Optimizer::add_group(torch::Tensor params, std::optional<double> weight_decay) {
  if (params.scalar_type() != torch::kFloat || params.dim() != 1 || !params.is_contiguous()) {
    throw RuntimeError("optimizer: a parameter group must be one contiguous 1-D fp32 tensor");
  }
  if (allocate_ && !params.is_cpu()) {
    throw RuntimeError("optimizer: offloaded states need the parameter group in host memory");
  }
  Group g;
  g.weight_decay = weight_decay.value_or(options_.weight_decay);
  check_range(g.weight_decay >= 0, "weight_decay", "must be >= 0", g.weight_decay);
  if (options_.rule == UpdateRule::kSgd) {
    if (options_.momentum != 0) g.momentum_buffer = zeros(params);
  } else if (nvme_) {
    offload::NvmeOptions o = *nvme_;
    o.tag += "-group" + std::to_string(groups_.size());
    g.swapped = std::make_shared<offload::SwappedStates>(o, params.numel(), std::vector<std::string>{"exp_avg", "exp_avg_sq"});
  } else {
    g.exp_avg = zeros(params);
    g.exp_avg_sq = zeros(params);
  }
  g.params = std::move(params);
  groups_.push_back(std::move(g));
  return groups_.size() - 1;
}

void Optimizer::set_betas(double beta1, double beta2) {
  OptimizerOptions o = options_;
  o.beta1 = beta1;
  o.beta2 = beta2;
  check_options(o);
  options_ = o;
}

void Optimizer::step(const std::vector<torch::Tensor>& grads, double lr) {
  if (grads.size() != groups_.size()) {
    throw RuntimeError("optimizer: got gradients for " + std::to_string(grads.size()) + " groups, expected " +
                       std::to_string(groups_.size()));
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    Group& g = groups_[i];
    if (grads[i].numel() != g.params.numel() || grads[i].scalar_type() != torch::kFloat) {
      throw RuntimeError("optimizer: group " + std::to_string(i) + " gradient does not match its parameters");
    }
    if (allocate_ && options_.rule != UpdateRule::kSgd) {
      cpu_kernel_adam_step(g, grads[i], lr);
      ++g.step;
      continue;
    }
    std::int64_t n = std::min<std::int64_t>(kChunk, g.params.numel());
    if (!scratch_a_.defined() || scratch_a_.numel() < n || scratch_a_.device() != g.params.device()) {
      scratch_a_ = allocate_ ? allocate_(n) : torch::empty({n}, g.params.options());
      scratch_b_ = allocate_ ? allocate_(n) : torch::empty({n}, g.params.options());
    }
    if (options_.rule == UpdateRule::kSgd) {
      sgd_step(g, grads[i], lr);
    } else {
      adam_step(g, grads[i], lr);
    }
    ++g.step;
  }
}

// torch 1.13 _single_tensor_adam / _single_tensor_adamw, operation for operation.
// performance-critical: benchmark any change (tests/engine/train_optimizer_bench.cpp).
void Optimizer::adam_step(Group& g, const torch::Tensor& grad, double lr) {
  const double b1 = options_.beta1, b2 = options_.beta2, wd = g.weight_decay;
  const double t = static_cast<double>(g.step + 1);
  AdamStep a;
  a.decay = wd != 0 && options_.rule == UpdateRule::kAdamW;
  a.l2 = wd != 0 && options_.rule == UpdateRule::kAdam;
  a.wd = wd;
  a.decay_factor = 1.0 - lr * wd;
  a.b1 = b1;
  a.b2 = b2;
  a.bc2_sqrt = options_.bias_correction ? std::sqrt(1.0 - std::pow(b2, t)) : 1.0;
  a.eps = options_.eps;
  a.step_size = lr / (options_.bias_correction ? 1.0 - std::pow(b1, t) : 1.0);
  if (g.params.is_cpu()) {
    adam_cpu_fused(a, g.params, grad.contiguous(), g.exp_avg, g.exp_avg_sq);
    return;
  }
  const std::int64_t total = g.params.numel();
  for (std::int64_t start = 0; start < total; start += kChunk) {
    std::int64_t n = std::min(kChunk, total - start);
    torch::Tensor p = g.params.narrow(0, start, n);
    torch::Tensor d = grad.narrow(0, start, n);
    torch::Tensor m = g.exp_avg.narrow(0, start, n);
    torch::Tensor v = g.exp_avg_sq.narrow(0, start, n);
    torch::Tensor denom = scratch_a_.narrow(0, 0, n);
    torch::Tensor l2 = scratch_b_.narrow(0, 0, n);
    if (a.decay) p.mul_(a.decay_factor);
    if (a.l2) d = torch::add_out(l2, d, p, wd);  // L2: grad + wd * p
    m.mul_(b1).add_(d, 1.0 - b1);
    v.mul_(b2).addcmul_(d, d, 1.0 - b2);
    torch::sqrt_out(denom, v).div_(a.bc2_sqrt).add_(a.eps);
    p.addcdiv_(m, denom, -a.step_size);
  }
}

// DeepSpeedCPUAdam's place in ZeRO-Offload: the SIMD kernel over the host arrays in place.
void Optimizer::cpu_kernel_adam_step(Group& g, const torch::Tensor& grad, double lr) {
  if (!grad.is_cpu() || !grad.is_contiguous()) {
    throw RuntimeError("optimizer: offloaded Adam needs a contiguous host gradient");
  }
  kernels::AdamOptions a;
  a.lr = lr;
  a.beta1 = options_.beta1;
  a.beta2 = options_.beta2;
  a.eps = options_.eps;
  a.weight_decay = g.weight_decay;
  a.adamw = options_.rule == UpdateRule::kAdamW;
  a.bias_correction = options_.bias_correction;
  a.step = g.step + 1;
  float* params = g.params.data_ptr<float>();
  const float* grads = grad.data_ptr<float>();
  if (g.swapped) {
    // Sub-group by sub-group, as the states stream in from NVMe and back.
    g.swapped->for_each_sub_group([&](std::int64_t offset, std::int64_t n, float* const* states) {
      kernels::adam_step(a, kernels::AdamArrays{.params = params + offset, .grads = grads + offset,
                                                .exp_avg = states[0], .exp_avg_sq = states[1], .n = n});
    });
    return;
  }
  kernels::adam_step(a, kernels::AdamArrays{.params = params, .grads = grads, .exp_avg = g.exp_avg.data_ptr<float>(),
                                            .exp_avg_sq = g.exp_avg_sq.data_ptr<float>(), .n = g.params.numel()});
}

// torch 1.13 _single_tensor_sgd: the momentum buffer starts as a copy of the first gradient.
void Optimizer::sgd_step(Group& g, const torch::Tensor& grad, double lr) {
  const double wd = g.weight_decay, mu = options_.momentum;
  const std::int64_t total = g.params.numel();
  for (std::int64_t start = 0; start < total; start += kChunk) {
    std::int64_t n = std::min(kChunk, total - start);
    torch::Tensor p = g.params.narrow(0, start, n);
    torch::Tensor d = grad.narrow(0, start, n);
    torch::Tensor l2 = scratch_b_.narrow(0, 0, n), nesterov = scratch_a_.narrow(0, 0, n);
    if (wd != 0) d = torch::add_out(l2, d, p, wd);
    if (mu != 0) {
      torch::Tensor buf = g.momentum_buffer.narrow(0, start, n);
      if (g.step == 0) {
        buf.copy_(d);
      } else {
        buf.mul_(mu).add_(d, 1.0 - options_.dampening);
      }
      d = options_.nesterov ? torch::add_out(nesterov, d, buf, mu) : buf;
    }
    p.add_(d, -lr);
  }
}

std::vector<NamedTensor> Optimizer::state_tensors() const {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    std::string prefix = "group" + std::to_string(i) + ".";
    const Group& g = groups_[i];
    if (g.swapped) {
      for (std::size_t k = 0; k < g.swapped->names().size(); ++k) {
        out.emplace_back(prefix + g.swapped->names()[k], g.swapped->read_all(k));
      }
      continue;
    }
    if (g.exp_avg.defined()) out.emplace_back(prefix + "exp_avg", g.exp_avg);
    if (g.exp_avg_sq.defined()) out.emplace_back(prefix + "exp_avg_sq", g.exp_avg_sq);
    if (g.momentum_buffer.defined()) out.emplace_back(prefix + "momentum_buffer", g.momentum_buffer);
  }
  return out;
}

std::vector<std::string> Optimizer::state_names() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    for (const std::string& kind : state_kinds(groups_[i])) out.push_back("group" + std::to_string(i) + "." + kind);
  }
  return out;
}

nlohmann::json Optimizer::state_meta() const {
  nlohmann::json groups = nlohmann::json::array();
  for (const Group& g : groups_) {
    groups.push_back({{"step", g.step}, {"weight_decay", g.weight_decay}, {"numel", g.params.numel()}});
  }
  return {{"rule", to_string(options_.rule)}, {"betas", {options_.beta1, options_.beta2}}, {"eps", options_.eps},
          {"momentum", options_.momentum},    {"groups", groups}};
}

void Optimizer::load_state(const nlohmann::json& meta, const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& where) {
  auto fail = [&](const std::string& what, const std::string& got, const std::string& expected) {
    throw RuntimeError(format_error(where, what, got, expected));
  };
  std::string rule = meta.value("rule", "");
  bool saved_sgd = rule == "SGD", now_sgd = options_.rule == UpdateRule::kSgd;
  if (rule.empty() || saved_sgd != now_sgd) {
    fail("optimizer state saved by another optimizer", "\"" + rule + "\"", "\"" + to_string(options_.rule) + "\"");
  }
  const nlohmann::json& groups = meta.contains("groups") ? meta["groups"] : nlohmann::json();
  if (!groups.is_array() || groups.size() != groups_.size()) {
    fail("optimizer state has a different number of parameter groups",
         std::to_string(groups.is_array() ? groups.size() : 0), std::to_string(groups_.size()));
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    Group& g = groups_[i];
    g.step = groups[i].value("step", std::int64_t{0});
    const std::vector<std::string> kinds = state_kinds(g);
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      const std::string name = "group" + std::to_string(i) + "." + kinds[k];
      auto it = tensors.find(name);
      if (it == tensors.end()) fail("missing optimizer state tensor '" + name + "'", "", "");
      if (it->second.numel() != g.params.numel()) {
        fail("optimizer state tensor '" + name + "' has the wrong size", std::to_string(it->second.numel()),
             std::to_string(g.params.numel()));
      }
      if (g.swapped) {
        g.swapped->write_all(k, it->second.reshape({-1}));
      } else {
        torch::Tensor& state = kinds[k] == "exp_avg" ? g.exp_avg : kinds[k] == "exp_avg_sq" ? g.exp_avg_sq : g.momentum_buffer;
        state.copy_(it->second.reshape({-1}));
      }
    }
  }
}

}  // namespace ds::engine::train
