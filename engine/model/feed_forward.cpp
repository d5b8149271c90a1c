#include "engine/model/feed_forward.hpp"

#include <torch/torch.h>

namespace ds::engine::model {

GeluMlp::GeluMlp(const estimators::ModelSpec& spec) {
  c_fc = register_module("c_fc", std::make_shared<Conv1D>(spec.hidden, spec.ffn, spec.mlp_bias));
  c_proj = register_module("c_proj", std::make_shared<Conv1D>(spec.ffn, spec.hidden, spec.mlp_bias));
}

torch::Tensor GeluMlp::forward(const torch::Tensor& x) {
  return c_proj->forward(torch::gelu(c_fc->forward(x), "tanh"));
}

SwiGluMlp::SwiGluMlp(const estimators::ModelSpec& spec) {
  gate_proj = register_module("gate_proj", std::make_shared<Linear>(spec.hidden, spec.ffn, spec.mlp_bias));
  up_proj = register_module("up_proj", std::make_shared<Linear>(spec.hidden, spec.ffn, spec.mlp_bias));
  down_proj = register_module("down_proj", std::make_shared<Linear>(spec.ffn, spec.hidden, spec.mlp_bias));
}

torch::Tensor SwiGluMlp::forward(const torch::Tensor& x) {
  return down_proj->forward(torch::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

}  // namespace ds::engine::model
