#include "engine/train/mixed_precision.hpp"

#include <cmath>
#include <sstream>

#include "common/error.hpp"
#include "engine/checkpoint/param_states.hpp"
#include "engine/offload/host_tier.hpp"

namespace ds::engine::train {
namespace {

std::string norm_text(double norm) {
  if (std::isnan(norm)) return "nan";  // the stream would print the sign bit ("-nan")
  std::ostringstream os;
  os << norm;
  return os.str();
}

}  // namespace

configs::Fp16Config loss_scaler_config(const MixedPrecisionOptions& o) {
  if (o.precision == Precision::kFp16) return o.fp16;
  configs::Fp16Config unit;
  unit.loss_scale = 1.0;  // a static scale of 1: bf16 and fp32 need no loss scaling
  return unit;
}

std::string non_finite_norm_message(double norm) {
  return "non-finite gradient norm (" + norm_text(norm) + "): skipping step";
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kFp16: return "fp16";
  }
  return "?";
}

Precision precision_of(configs::DType dtype) {
  switch (dtype) {
    case configs::DType::kBf16: return Precision::kBf16;
    case configs::DType::kFp16: return Precision::kFp16;
    default: return Precision::kFp32;
  }
}

torch::ScalarType scalar_type_of(Precision precision) {
  switch (precision) {
    case Precision::kBf16: return torch::kBFloat16;
    case Precision::kFp16: return torch::kHalf;
    default: return torch::kFloat;
  }
}

double clip_grad_norm(const std::vector<torch::Tensor>& grads, double max_norm) {
  torch::NoGradGuard no_grad;
  if (grads.empty()) return 0.0;
  std::vector<torch::Tensor> norms;
  norms.reserve(grads.size());
  for (const auto& g : grads) norms.push_back(g.norm(2));
  // One host sync per step, the same as DeepSpeed's get_global_norm().
  double total = torch::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && std::isfinite(total)) {
    double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
      for (const auto& g : grads) g.mul_(coef);
    }
  }
  return total;
}

MixedPrecisionOptimizer::MixedPrecisionOptimizer(const std::vector<ParamGroupSpec>& groups,
                                                 const OptimizerOptions& optimizer,
                                                 const MixedPrecisionOptions& options)
    : options_(options), optimizer_(optimizer), scaler_(loss_scaler_config(options)) {
  if (options_.gradient_clipping < 0 || !std::isfinite(options_.gradient_clipping)) {
    throw ConfigError(format_error("gradient_clipping", "must be >= 0 (0 turns clipping off)",
                                   norm_text(options_.gradient_clipping)));
  }
  torch::NoGradGuard no_grad;
  for (const ParamGroupSpec& spec : groups) {
    std::vector<NamedTensor> taken = trainable_unique(spec.params);
    if (taken.empty()) continue;
    Group g;
    const torch::Device device = taken.front().second.device();
    if (options_.offload_optimizer && !optimizer_.offloaded()) offload_to_host(optimizer_, device, options_.nvme);
    if (has_master_copy()) {
      // The master keeps the parameters' full-precision values, taken before they are rounded.
      FlatLayout layout(taken);
      std::vector<torch::Tensor> tensors;
      for (const auto& [name, t] : taken) tensors.push_back(t);
      g.master = layout.pack(tensors, torch::kFloat, device);
      if (options_.offload_optimizer) {
        torch::Tensor host = offload::HostTier::zeros(g.master.numel(), device);
        host.copy_(g.master);
        g.master = host;
      }
    }
    g.flat = std::make_unique<FlatParams>(taken, scalar_type_of(options_.precision));
    if (!has_master_copy()) g.master = g.flat->data();
    if (options_.offload_optimizer) g.grad32 = offload::HostTier::zeros(g.master.numel(), device);
    else g.grad32 = has_master_copy() ? torch::zeros_like(g.master) : g.flat->grad();
    optimizer_.add_group(g.master, spec.weight_decay);
    groups_.push_back(std::move(g));
  }
  if (groups_.empty()) throw RuntimeError("optimizer: the model has no trainable parameters");
}

void MixedPrecisionOptimizer::accumulate_grads() {
  torch::NoGradGuard no_grad;
  for (Group& g : groups_) {
    g.flat->sync_grads();
    if (!has_master_copy()) continue;
    g.grad32.add_(g.flat->grad().to(g.grad32.device()));  // offload: to the host first
    g.flat->grad().zero_();
  }
}

StepResult MixedPrecisionOptimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  accumulate_grads();
  StepResult result;
  result.loss_scale = scaler_.loss_scale();
  std::vector<torch::Tensor> grads;
  for (Group& g : groups_) grads.push_back(g.grad32);
  if (reducer_) reducer_(grads);
  if (result.loss_scale != 1.0) {
    for (auto& g : grads) g.mul_(1.0 / result.loss_scale);
  }
  result.grad_norm = clip_grad_norm(grads, options_.gradient_clipping);
  bool overflow = !std::isfinite(result.grad_norm);
  // fp16: DeepSpeed's overflow check (inf/nan norm) drives the loss scaler. bf16/fp32 have no
  // scaler to lower, but an inf/nan update would destroy the weights, so the step is skipped too.
  LossScaleUpdate update = scaler_.update(overflow);
  result.skipped = update.skipped;
  result.message = update.message;
  if (overflow && options_.precision != Precision::kFp16) {
    result.message = non_finite_norm_message(result.grad_norm);
  }
  if (!result.skipped) {
    optimizer_.step(grads, lr);
    copy_master_to_model();
  }
  zero_grad();
  return result;
}

void MixedPrecisionOptimizer::copy_master_to_model() {
  if (!has_master_copy()) return;
  for (Group& g : groups_) g.flat->data().copy_(g.master);
}

void MixedPrecisionOptimizer::zero_grad() {
  torch::NoGradGuard no_grad;
  for (Group& g : groups_) {
    g.grad32.zero_();
    if (has_master_copy()) g.flat->grad().zero_();
  }
}

std::vector<NamedTensor> MixedPrecisionOptimizer::model_state() const {
  std::vector<NamedTensor> out;
  for (const Group& g : groups_) {
    auto named = g.flat->layout().unpack(g.flat->data());
    out.insert(out.end(), named.begin(), named.end());
  }
  return out;
}

void MixedPrecisionOptimizer::load_model_state(const std::map<std::string, torch::Tensor>& tensors,
                                               const std::string& where) {
  torch::NoGradGuard no_grad;
  std::size_t used = 0;
  for (Group& g : groups_) {
    const FlatLayout& layout = g.flat->layout();
    for (std::size_t i = 0; i < layout.slots().size(); ++i) {
      const FlatSlot& slot = layout.slots()[i];
      auto it = tensors.find(slot.name);
      if (it == tensors.end()) {
        throw RuntimeError(format_error(where, "missing parameter '" + slot.name + "'"));
      }
      if (it->second.sizes().vec() != slot.shape) {
        throw RuntimeError(format_error(where, "parameter '" + slot.name + "' has the wrong shape",
                                        c10::str(it->second.sizes()), c10::str(c10::IntArrayRef(slot.shape))));
      }
      layout.view(g.master, i).copy_(it->second);
      ++used;
    }
  }
  if (used != tensors.size()) {
    for (const auto& [name, t] : tensors) {
      bool known = false;
      for (const Group& g : groups_) {
        for (const auto& s : g.flat->layout().slots()) known = known || s.name == name;
      }
      if (!known) throw RuntimeError(format_error(where, "unexpected tensor '" + name + "' (not a trainable parameter)"));
    }
  }
  copy_master_to_model();
}

std::vector<NamedTensor> MixedPrecisionOptimizer::optimizer_state_tensors() const {
  std::vector<NamedTensor> out = optimizer_.state_tensors();
  if (has_master_copy()) {
    for (std::size_t i = 0; i < groups_.size(); ++i) out.emplace_back("group" + std::to_string(i) + ".master", groups_[i].master);
  }
  return out;
}

nlohmann::json MixedPrecisionOptimizer::optimizer_state_meta() const {
  nlohmann::json layouts = nlohmann::json::array();
  for (const Group& g : groups_) layouts.push_back(g.flat->layout().to_json());
  return {{"precision", to_string(options_.precision)}, {"optimizer", optimizer_.state_meta()}, {"layouts", layouts}};
}

void MixedPrecisionOptimizer::load_optimizer_state(const nlohmann::json& meta,
                                                   const std::map<std::string, torch::Tensor>& tensors,
                                                   const std::string& where) {
  const nlohmann::json& layouts = meta.contains("layouts") ? meta["layouts"] : nlohmann::json();
  if (!layouts.is_array() || layouts.size() != groups_.size()) {
    throw RuntimeError(format_error(where, "optimizer state has a different number of parameter groups",
                                    std::to_string(layouts.is_array() ? layouts.size() : 0),
                                    std::to_string(groups_.size())));
  }
  for (std::size_t i = 0; i < groups_.size(); ++i) groups_[i].flat->layout().check_same(layouts[i], where);
  optimizer_.load_state(meta.value("optimizer", nlohmann::json::object()), tensors, where);
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    auto it = tensors.find("group" + std::to_string(i) + ".master");
    if (it != tensors.end() && it->second.numel() == groups_[i].master.numel()) {
      groups_[i].master.copy_(it->second.reshape({-1}));
    }
  }
  copy_master_to_model();
}

void MixedPrecisionOptimizer::load_optimizer_state(const nlohmann::json& meta, const checkpoint::ParamStates& states,
                                                   const std::string& where) {
  // The rule, group count and step counts are checked and restored first (the state tensors given
  // are the optimizer's own), so a checkpoint of another optimizer overwrites nothing.
  std::vector<NamedTensor> own = optimizer_.state_tensors();
  optimizer_.load_state(meta.value("optimizer", nlohmann::json::object()), {own.begin(), own.end()}, where);
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    const FlatLayout& layout = groups_[i].flat->layout();
    const std::string prefix = "group" + std::to_string(i) + ".";
    for (const auto& [name, tensor] : own) {
      if (name.rfind(prefix, 0) == 0) states.read_flat(name.substr(prefix.size()), layout, 0, tensor);
    }
    // A saved fp32 master is the exact value and wins over the model-dtype weights.
    if (states.has("master")) states.read_flat("master", layout, 0, groups_[i].master);
  }
  // States swapped to NVMe were read into copies: write them back.
  if (optimizer_.swapped()) {
    optimizer_.load_state(meta.value("optimizer", nlohmann::json::object()), {own.begin(), own.end()}, where);
  }
  copy_master_to_model();
}

}  // namespace ds::engine::train
