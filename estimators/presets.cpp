#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

// GPT-2 (openai-community/gpt2*): vocab 50257, 1024 positions, n_inner = 4 * n_embd, tied.
ModelPreset gpt2(const char* name, std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                 const char* source) {
  ModelSpec s;
  s.name = name;
  s.family = ModelFamily::kGpt2;
  s.layers = layers;
  s.hidden = hidden;
  s.heads = s.kv_heads = heads;
  s.head_dim = hidden / heads;
  s.ffn = 4 * hidden;
  s.vocab = 50257;
  s.max_seq = 1024;
  s.tied_embeddings = true;
  s.qkv_bias = s.attn_out_bias = s.mlp_bias = true;
  s.norm = NormType::kLayerNorm;
  s.norm_eps = 1e-5;
  s.activation = Activation::kGelu;
  s.position = PositionEncoding::kLearned;
  s.dropout = 0.1;
  return {s, source};
}

// The sizes every Llama-style config.json states.
struct LlamaShape {
  std::int64_t layers, hidden, heads, kv_heads, ffn, vocab, max_seq;
};

ModelPreset llama_like(const char* name, ModelFamily family, LlamaShape shape, const char* source) {
  ModelSpec s;
  s.name = name;
  s.family = family;
  s.layers = shape.layers;
  s.hidden = shape.hidden;
  s.heads = shape.heads;
  s.kv_heads = shape.kv_heads;
  s.head_dim = shape.hidden / shape.heads;
  s.ffn = shape.ffn;
  s.vocab = shape.vocab;
  s.max_seq = shape.max_seq;
  s.norm = NormType::kRmsNorm;
  s.norm_eps = 1e-5;
  s.activation = Activation::kSwiGlu;
  s.position = PositionEncoding::kRope;
  s.qkv_bias = family == ModelFamily::kQwen2;  // Qwen2Attention: bias on q, k, v only
  return {s, source};
}

// Llama 3.1/3.2 extend the 8192-token context with rope_type "llama3".
RopeScaling llama3_scaling(double factor) {
  return RopeScaling{"llama3", factor, 1.0, 4.0, 8192};
}

std::vector<ModelPreset> build_presets() {
  using F = ModelFamily;
  std::vector<ModelPreset> p;
  p.push_back(gpt2("gpt2", 12, 768, 12, "openai-community/gpt2"));
  p.push_back(gpt2("gpt2-medium", 24, 1024, 16, "openai-community/gpt2-medium"));
  p.push_back(gpt2("gpt2-large", 36, 1280, 20, "openai-community/gpt2-large"));
  p.push_back(gpt2("gpt2-xl", 48, 1600, 25, "openai-community/gpt2-xl"));

  p.push_back(llama_like("llama-2-7b", F::kLlama, {32, 4096, 32, 32, 11008, 32000, 4096}, "meta-llama/Llama-2-7b-hf"));
  p.push_back(llama_like("llama-2-13b", F::kLlama, {40, 5120, 40, 40, 13824, 32000, 4096}, "meta-llama/Llama-2-13b-hf"));
  p.push_back(llama_like("llama-2-70b", F::kLlama, {80, 8192, 64, 8, 28672, 32000, 4096}, "meta-llama/Llama-2-70b-hf"));
  p.push_back(llama_like("llama-3-8b", F::kLlama, {32, 4096, 32, 8, 14336, 128256, 8192}, "meta-llama/Meta-Llama-3-8B"));
  p.push_back(llama_like("llama-3-70b", F::kLlama, {80, 8192, 64, 8, 28672, 128256, 8192}, "meta-llama/Meta-Llama-3-70B"));
  for (auto i : {p.size() - 2, p.size() - 1}) p[i].spec.rope_theta = 500000.0;
  p.push_back(llama_like("llama-3.1-405b", F::kLlama, {126, 16384, 128, 8, 53248, 128256, 131072},
                         "meta-llama/Llama-3.1-405B"));
  p.back().spec.rope_theta = 500000.0;
  p.back().spec.rope_scaling = llama3_scaling(8.0);
  // Llama 3.2 1B sets head_dim 64 (2048 / 32) and ties the embeddings; 3B has head_dim 128.
  p.push_back(llama_like("llama-3.2-1b", F::kLlama, {16, 2048, 32, 8, 8192, 128256, 131072}, "meta-llama/Llama-3.2-1B"));
  p.push_back(llama_like("llama-3.2-3b", F::kLlama, {28, 3072, 24, 8, 8192, 128256, 131072}, "meta-llama/Llama-3.2-3B"));
  for (auto i : {p.size() - 2, p.size() - 1}) {
    p[i].spec.tied_embeddings = true;
    p[i].spec.rope_theta = 500000.0;
    p[i].spec.rope_scaling = llama3_scaling(32.0);
  }

  p.push_back(llama_like("mistral-7b", F::kMistral, {32, 4096, 32, 8, 14336, 32000, 32768}, "mistralai/Mistral-7B-v0.1"));
  p.back().spec.sliding_window = 4096;
  p.push_back(llama_like("mixtral-8x7b", F::kMixtral, {32, 4096, 32, 8, 14336, 32000, 32768}, "mistralai/Mixtral-8x7B-v0.1"));
  p.back().spec.rope_theta = 1e6;
  p.back().spec.num_experts = 8;
  p.back().spec.experts_per_token = 2;

  p.push_back(llama_like("qwen2.5-7b", F::kQwen2, {28, 3584, 28, 4, 18944, 152064, 131072}, "Qwen/Qwen2.5-7B"));
  p.back().spec.norm_eps = 1e-6;
  p.push_back(llama_like("qwen2.5-72b", F::kQwen2, {80, 8192, 64, 8, 29568, 152064, 131072}, "Qwen/Qwen2.5-72B"));
  for (auto i : {p.size() - 2, p.size() - 1}) p[i].spec.rope_theta = 1e6;

  // The engine's test models. ds-tiny: ~1M params, Llama family with GQA, 512-token vocabulary,
  // trains in seconds on a CPU. ds-small: ~14M params, GPT-2 family (LayerNorm, biases, learned
  // positions) so both code paths of the engine are exercised.
  p.push_back(llama_like("ds-tiny", F::kLlama, {4, 128, 4, 2, 512, 512, 128}, "ds"));
  p.back().spec.tied_embeddings = true;
  p.push_back(gpt2("ds-small", 6, 384, 6, "ds"));
  p.back().spec.vocab = 8192;
  p.back().spec.max_seq = 256;
  p.back().spec.dropout = 0.0;  // the engine applies no dropout, so its runs keep no masks to estimate
  return p;
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = build_presets();
  return presets;
}

const ModelPreset* find_model_preset(std::string_view name) {
  for (const auto& p : model_presets()) {
    if (p.spec.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : model_presets()) names.push_back(p.spec.name);
  return names;
}

}  // namespace ds::estimators
