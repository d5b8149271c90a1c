#include "engine/model/layers.hpp"

#include <torch/torch.h>

#include <vector>

namespace ds::engine::model {

torch::ScalarType compute_dtype(torch::ScalarType dtype) {
  return dtype == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

namespace {

thread_local const torch::TensorOptions* placeholder_options = nullptr;

}  // namespace

PlaceholderParameters::PlaceholderParameters(const torch::TensorOptions& options)
    : previous_(placeholder_options), options_(options) {
  placeholder_options = &options_;
}

PlaceholderParameters::~PlaceholderParameters() { placeholder_options = previous_; }

torch::Tensor new_parameter(at::IntArrayRef shape) {
  if (!placeholder_options) return torch::empty(shape);
  torch::Tensor one = torch::zeros({1}, *placeholder_options);
  // set_, not expand: a view would make the parameter a non-leaf for autograd's bookkeeping.
  return torch::empty({0}, *placeholder_options).set_(one.storage(), 0, shape, std::vector<std::int64_t>(shape.size(), 0));
}

bool is_placeholder(const torch::Tensor& t) {
  return t.defined() && t.numel() > 1 && t.storage().nbytes() == static_cast<std::size_t>(t.element_size());
}

// Parameters start uninitialised: init_weights() fills every one from the seeded generator.
Linear::Linear(std::int64_t in, std::int64_t out, bool has_bias) {
  weight = register_parameter("weight", new_parameter({out, in}));
  if (has_bias) bias = register_parameter("bias", new_parameter({out}));
}

torch::Tensor Linear::forward(const torch::Tensor& x) { return torch::nn::functional::linear(x, weight, bias); }

Conv1D::Conv1D(std::int64_t in, std::int64_t out, bool has_bias) {
  weight = register_parameter("weight", new_parameter({in, out}));
  if (has_bias) bias = register_parameter("bias", new_parameter({out}));
}

torch::Tensor Conv1D::forward(const torch::Tensor& x) {
  auto flat = x.reshape({-1, x.size(-1)});
  auto y = bias.defined() ? torch::addmm(bias, flat, weight) : torch::mm(flat, weight);
  auto shape = x.sizes().vec();
  shape.back() = weight.size(1);
  return y.view(shape);
}

Embedding::Embedding(std::int64_t num, std::int64_t dim) {
  weight = register_parameter("weight", new_parameter({num, dim}));
}

torch::Tensor Embedding::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

LayerNorm::LayerNorm(std::int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", new_parameter({dim}));
  bias = register_parameter("bias", new_parameter({dim}));
}

torch::Tensor LayerNorm::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps_);
}

RmsNorm::RmsNorm(std::int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", new_parameter({dim}));
}

torch::Tensor RmsNorm::forward(const torch::Tensor& x) {
  auto h = x.to(compute_dtype(x.scalar_type()));
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * h.to(x.scalar_type());
}

}  // namespace ds::engine::model
