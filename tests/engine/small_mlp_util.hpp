// A seeded three-layer MLP and its named parameters, for the optimizer tests that need a model
// but not a transformer.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/train/flat_params.hpp"

namespace ds::test {

/// Linear(8, 16) -> Tanh -> Linear(16, 4), initialised from `seed`.
inline torch::nn::Sequential small_mlp(std::uint64_t seed) {
  torch::manual_seed(seed);
  return torch::nn::Sequential(torch::nn::Linear(8, 16), torch::nn::Tanh(), torch::nn::Linear(16, 4));
}

inline std::vector<engine::train::NamedTensor> named_params(torch::nn::Sequential& model) {
  std::vector<engine::train::NamedTensor> out;
  for (auto& item : model->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace ds::test
