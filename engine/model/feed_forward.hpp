#pragma once
// The MLP half of a transformer block. A block holds a FeedForward behind a pointer so a
// Mixtral-style mixture of experts (router + experts, same input and output) fits the same slot.
#include <memory>

#include "engine/model/layers.hpp"
#include "estimators/model_spec.hpp"

namespace ds::engine::model {

/// x [B, T, hidden] -> [B, T, hidden].
using FeedForward = UnaryModule;

/// GPT2MLP: c_proj(gelu_new(c_fc(x))), Conv1D weights c_fc [hidden, ffn], c_proj [ffn, hidden].
/// gelu_new is GELU's tanh approximation (Hendrycks & Gimpel 2016).
class GeluMlp : public FeedForward {
 public:
  explicit GeluMlp(const estimators::ModelSpec& spec);
  torch::Tensor forward(const torch::Tensor& x) override;

  std::shared_ptr<Conv1D> c_fc;
  std::shared_ptr<Conv1D> c_proj;
};

/// LlamaMLP: down_proj(silu(gate_proj(x)) * up_proj(x)) (SwiGLU, Shazeer 2020).
class SwiGluMlp : public FeedForward {
 public:
  explicit SwiGluMlp(const estimators::ModelSpec& spec);
  torch::Tensor forward(const torch::Tensor& x) override;

  std::shared_ptr<Linear> gate_proj;
  std::shared_ptr<Linear> up_proj;
  std::shared_ptr<Linear> down_proj;
};

}  // namespace ds::engine::model
