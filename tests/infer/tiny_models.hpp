// Tiny fp64 models for the inference tests: Llama with GQA (ds-tiny shrunk) and GPT-2.
#pragma once
#include <torch/torch.h>

#include "engine/model/causal_lm.hpp"
#include "estimators/presets.hpp"

namespace ds::engine::infer::test {

/// ds-tiny (Llama, 4 query / 2 kv heads, tied embeddings) with 2 layers, width 32, 257 tokens,
/// 2048 positions (RoPE: no table) so a long generation can be cancelled mid-way.
inline estimators::ModelSpec tiny_llama_spec() {
  auto s = estimators::find_model_preset("ds-tiny")->spec;
  s.layers = 2;
  s.hidden = 32;
  s.head_dim = 8;
  s.ffn = 64;
  s.vocab = 257;
  s.max_seq = 2048;
  return s;
}

/// ds-small (GPT-2: LayerNorm, biases, learned positions) shrunk the same way.
inline estimators::ModelSpec tiny_gpt2_spec() {
  auto s = estimators::find_model_preset("ds-small")->spec;
  s.layers = 2;
  s.hidden = 32;
  s.heads = 4;
  s.kv_heads = 4;
  s.head_dim = 8;
  s.ffn = 128;
  s.vocab = 257;
  s.max_seq = 128;
  return s;
}

inline std::shared_ptr<model::CausalLM> tiny_model(const estimators::ModelSpec& spec, std::uint64_t seed = 5) {
  return model::build_model(spec, {.dtype = torch::kFloat64, .seed = seed});
}

}  // namespace ds::engine::infer::test
