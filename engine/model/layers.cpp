#include "engine/model/layers.hpp"

#include <torch/torch.h>

namespace ds::engine::model {

torch::ScalarType compute_dtype(torch::ScalarType dtype) {
  return dtype == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// Parameters start uninitialised: init_weights() fills every one from the seeded generator.
Linear::Linear(std::int64_t in, std::int64_t out, bool has_bias) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (has_bias) bias = register_parameter("bias", torch::empty({out}));
}

torch::Tensor Linear::forward(const torch::Tensor& x) { return torch::nn::functional::linear(x, weight, bias); }

Conv1D::Conv1D(std::int64_t in, std::int64_t out, bool has_bias) {
  weight = register_parameter("weight", torch::empty({in, out}));
  if (has_bias) bias = register_parameter("bias", torch::empty({out}));
}

torch::Tensor Conv1D::forward(const torch::Tensor& x) {
  auto flat = x.reshape({-1, x.size(-1)});
  auto y = bias.defined() ? torch::addmm(bias, flat, weight) : torch::mm(flat, weight);
  auto shape = x.sizes().vec();
  shape.back() = weight.size(1);
  return y.view(shape);
}

Embedding::Embedding(std::int64_t num, std::int64_t dim) {
  weight = register_parameter("weight", torch::empty({num, dim}));
}

torch::Tensor Embedding::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

LayerNorm::LayerNorm(std::int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::empty({dim}));
  bias = register_parameter("bias", torch::empty({dim}));
}

torch::Tensor LayerNorm::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps_);
}

RmsNorm::RmsNorm(std::int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::empty({dim}));
}

torch::Tensor RmsNorm::forward(const torch::Tensor& x) {
  auto h = x.to(compute_dtype(x.scalar_type()));
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * h.to(x.scalar_type());
}

}  // namespace ds::engine::model
