#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ds::engine::train {

/// A named tensor (a Hugging Face parameter name and its tensor).
using NamedTensor = std::pair<std::string, torch::Tensor>;

/// Where one parameter lives inside a flat buffer.
struct FlatSlot {
  std::string name;              ///< the parameter's name (HF name)
  std::vector<std::int64_t> shape;
  std::int64_t offset = 0;       ///< first element in the flat buffer
  std::int64_t numel = 0;
};

/// The layout of parameters packed back to back into one 1-D buffer, in the given order.
class FlatLayout {
 public:
  FlatLayout() = default;
  /// Slots for `params` in order (shapes and names only; the tensors are not touched).
  explicit FlatLayout(const std::vector<NamedTensor>& params);

  const std::vector<FlatSlot>& slots() const { return slots_; }
  std::int64_t numel() const { return numel_; }
  /// Slot i of `flat` as a tensor of the parameter's shape (a view, no copy).
  torch::Tensor view(const torch::Tensor& flat, std::size_t i) const;
  /// Copies `params` (in layout order) into a new flat tensor of `dtype` on `device`.
  torch::Tensor pack(const std::vector<torch::Tensor>& params, torch::ScalarType dtype, torch::Device device) const;
  /// Every slot of `flat` as named views.
  std::vector<NamedTensor> unpack(const torch::Tensor& flat) const;

  /// [{"name", "shape", "offset"}...] for checkpoints.
  nlohmann::json to_json() const;
  /// Reads to_json() back; throws UsageError naming `where` when it is malformed.
  static FlatLayout from_json(const nlohmann::json& slots, const std::string& where);
  /// Throws RuntimeError naming `where` when `other` describes different slots.
  void check_same(const nlohmann::json& other, const std::string& where) const;

 private:
  std::vector<FlatSlot> slots_;
  std::int64_t numel_ = 0;
};

/// Model parameters flattened into one contiguous buffer, DeepSpeed-style: each parameter's
/// storage becomes a view of `data()` and its .grad a view of `grad()`, so autograd accumulates
/// straight into the flat gradient buffer and an optimizer can update all parameters with a few
/// large kernels (ZeRO later partitions these flat buffers across ranks).
///
/// Parameters that do not require grad are left out; a tensor that appears under two names (tied
/// embeddings) is taken once, under its first name. All parameters must be on one device.
class FlatParams {
 public:
  /// Takes over `params`: copies their values into a new flat buffer of `dtype` (the values are
  /// rounded when `dtype` is narrower) and re-points the parameters at it. Without
  /// `grad_buffer` the parameters' .grad stay autograd's own (ZeRO-2 moves each gradient into a
  /// reduce bucket as it is produced and frees it) and grad() is undefined.
  FlatParams(const std::vector<NamedTensor>& params, torch::ScalarType dtype, bool grad_buffer = true);

  const FlatLayout& layout() const { return layout_; }
  torch::Tensor& data() { return data_; }
  torch::Tensor& grad() { return grad_; }
  const torch::Tensor& data() const { return data_; }
  const torch::Tensor& grad() const { return grad_; }
  /// The flattened parameters themselves (sharing storage with data()).
  const std::vector<torch::Tensor>& params() const { return params_; }

  /// Makes sure every parameter still aliases the flat buffers before the buffers are used.
  /// A .grad that was reset (Module::zero_grad sets it to None) or replaced is folded back into
  /// grad() and re-pointed. A parameter whose storage was replaced (set_data) is an error.
  void sync_grads();

 private:
  FlatLayout layout_;
  std::vector<torch::Tensor> params_;
  torch::Tensor data_;
  torch::Tensor grad_;
};

/// The parameters FlatParams would take from `params`: trainable, first name per tensor.
std::vector<NamedTensor> trainable_unique(const std::vector<NamedTensor>& params);

}  // namespace ds::engine::train
