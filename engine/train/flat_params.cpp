#include "engine/train/flat_params.hpp"

#include <unordered_set>

#include "common/error.hpp"

namespace ds::engine::train {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

std::vector<NamedTensor> trainable_unique(const std::vector<NamedTensor>& params) {
  std::vector<NamedTensor> out;
  std::unordered_set<const void*> seen;
  for (const auto& [name, tensor] : params) {
    if (!tensor.defined() || !tensor.requires_grad()) continue;
    if (!seen.insert(tensor.unsafeGetTensorImpl()).second) continue;  // tied: keep the first name
    out.emplace_back(name, tensor);
  }
  return out;
}

FlatLayout::FlatLayout(const std::vector<NamedTensor>& params) {
  for (const auto& [name, tensor] : params) {
    FlatSlot slot{name, tensor.sizes().vec(), numel_, tensor.numel()};
    numel_ += slot.numel;
    slots_.push_back(std::move(slot));
  }
}

torch::Tensor FlatLayout::view(const torch::Tensor& flat, std::size_t i) const {
  const FlatSlot& s = slots_.at(i);
  return flat.narrow(0, s.offset, s.numel).view(s.shape);
}

torch::Tensor FlatLayout::pack(const std::vector<torch::Tensor>& params, torch::ScalarType dtype,
                               torch::Device device) const {
  torch::NoGradGuard no_grad;
  torch::Tensor flat = torch::empty({numel_}, torch::TensorOptions().dtype(dtype).device(device));
  for (std::size_t i = 0; i < slots_.size(); ++i) view(flat, i).copy_(params.at(i).detach());
  return flat;
}

std::vector<NamedTensor> FlatLayout::unpack(const torch::Tensor& flat) const {
  std::vector<NamedTensor> out;
  out.reserve(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) out.emplace_back(slots_[i].name, view(flat, i));
  return out;
}

nlohmann::json FlatLayout::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : slots_) out.push_back({{"name", s.name}, {"shape", s.shape}, {"offset", s.offset}});
  return out;
}

FlatLayout FlatLayout::from_json(const nlohmann::json& slots, const std::string& where) {
  FlatLayout layout;
  if (!slots.is_array()) throw UsageError(format_error(where, "parameter layout must be a list", slots.dump()));
  for (const auto& o : slots) {
    FlatSlot s;
    try {
      s.name = o.at("name").get<std::string>();
      s.shape = o.at("shape").get<std::vector<std::int64_t>>();
      s.offset = o.at("offset").get<std::int64_t>();
    } catch (const nlohmann::json::exception&) {
      throw UsageError(format_error(where, "malformed parameter layout entry", o.dump(),
                                    "{\"name\": ..., \"shape\": [...], \"offset\": N}"));
    }
    s.numel = 1;
    for (auto d : s.shape) s.numel *= d;
    if (s.offset != layout.numel_ || s.numel < 0) {
      throw UsageError(format_error(where, "parameter layout is not contiguous at '" + s.name + "'",
                                    "offset " + std::to_string(s.offset), std::to_string(layout.numel_)));
    }
    layout.numel_ += s.numel;
    layout.slots_.push_back(std::move(s));
  }
  return layout;
}

void FlatLayout::check_same(const nlohmann::json& other, const std::string& where) const {
  if (!other.is_array() || other.size() != slots_.size()) {
    throw RuntimeError(format_error(where, "parameter layout differs from the model's",
                                    std::to_string(other.is_array() ? other.size() : 0) + " parameters",
                                    std::to_string(slots_.size()),
                                    "resume with the same model (and the same frozen/tied parameters)"));
  }
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const auto& o = other[i];
    const FlatSlot& s = slots_[i];
    bool same = o.is_object() && o.value("name", "") == s.name && o.contains("shape") &&
                o["shape"] == nlohmann::json(s.shape) && o.value("offset", std::int64_t{-1}) == s.offset;
    if (!same) {
      throw RuntimeError(format_error(where, "parameter " + std::to_string(i) + " differs from the model's",
                                      o.dump(), "'" + s.name + "' with shape " + shape_text(s.shape),
                                      "resume with the same model (and the same frozen/tied parameters)"));
    }
  }
}

FlatParams::FlatParams(const std::vector<NamedTensor>& params, torch::ScalarType dtype, bool grad_buffer) {
  std::vector<NamedTensor> taken = trainable_unique(params);
  if (taken.empty()) throw RuntimeError("optimizer: the model has no trainable parameters");
  torch::Device device = taken.front().second.device();
  for (const auto& [name, tensor] : taken) {
    if (tensor.device() != device) {
      throw RuntimeError(format_error(name, "parameter on another device", tensor.device().str(), device.str(),
                                      "move the whole model to one device before building the optimizer"));
    }
    params_.push_back(tensor);
  }
  layout_ = FlatLayout(taken);
  data_ = layout_.pack(params_, dtype, device);
  if (grad_buffer) grad_ = torch::zeros_like(data_);
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    // set_data swaps the storage under the same autograd leaf, so the modules that hold the
    // parameter see the flat view; mutable_grad() makes autograd accumulate in place into it.
    params_[i].set_data(layout_.view(data_, i));
    if (grad_buffer) params_[i].mutable_grad() = layout_.view(grad_, i);
  }
}

void FlatParams::sync_grads() {
  if (!grad_.defined()) return;
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    torch::Tensor expected = layout_.view(data_, i);
    if (p.data_ptr() != expected.data_ptr() || p.scalar_type() != data_.scalar_type()) {
      throw RuntimeError(format_error(layout_.slots()[i].name, "parameter storage was replaced outside the optimizer",
                                      "", "", "load weights with param.copy_(...) under torch::NoGradGuard, not set_data"));
    }
    torch::Tensor view = layout_.view(grad_, i);
    torch::Tensor& g = p.mutable_grad();
    if (g.defined() && g.data_ptr() == view.data_ptr()) continue;
    if (g.defined()) view.add_(g);
    g = view;
  }
}

}  // namespace ds::engine::train
