#include "engine/io/hf_config_writer.hpp"

namespace ds::engine::io {
namespace {

using estimators::ModelFamily;
using estimators::ModelSpec;
using nlohmann::json;

// transformers GPT2Config key names.
json gpt2_config(const ModelSpec& s) {
  return {{"model_type", "gpt2"},
          {"architectures", {"GPT2LMHeadModel"}},
          {"n_layer", s.layers},
          {"n_embd", s.hidden},
          {"n_head", s.heads},
          {"n_inner", s.ffn},
          {"vocab_size", s.vocab},
          {"n_positions", s.max_seq},
          {"n_ctx", s.max_seq},
          {"layer_norm_epsilon", s.norm_eps},
          {"activation_function", "gelu_new"},
          {"resid_pdrop", s.dropout},
          {"embd_pdrop", s.dropout},
          {"attn_pdrop", s.dropout},
          {"tie_word_embeddings", s.tied_embeddings}};
}

const char* architecture(ModelFamily family) {
  switch (family) {
    case ModelFamily::kMistral: return "MistralForCausalLM";
    case ModelFamily::kQwen2: return "Qwen2ForCausalLM";
    case ModelFamily::kMixtral: return "MixtralForCausalLM";
    default: return "LlamaForCausalLM";
  }
}

// LlamaConfig key names, shared by Mistral, Qwen2 and Mixtral.
json llama_like_config(const ModelSpec& s) {
  json c = {{"model_type", std::string(estimators::family_name(s.family))},
            {"architectures", {architecture(s.family)}},
            {"num_hidden_layers", s.layers},
            {"hidden_size", s.hidden},
            {"num_attention_heads", s.heads},
            {"num_key_value_heads", s.kv_heads},
            {"head_dim", s.head_dim},
            {"intermediate_size", s.ffn},
            {"vocab_size", s.vocab},
            {"max_position_embeddings", s.max_seq},
            {"rms_norm_eps", s.norm_eps},
            {"rope_theta", s.rope_theta},
            {"hidden_act", "silu"},
            {"attention_dropout", s.dropout},
            {"tie_word_embeddings", s.tied_embeddings},
            {"mlp_bias", s.mlp_bias}};
  // Qwen2 always has q/k/v biases and no key for them; the others say so with attention_bias.
  if (s.family != ModelFamily::kQwen2) c["attention_bias"] = s.qkv_bias || s.attn_out_bias;
  if (!s.rope_scaling.type.empty()) {
    json scaling = {{"rope_type", s.rope_scaling.type},
                    {"factor", s.rope_scaling.factor},
                    {"low_freq_factor", s.rope_scaling.low_freq_factor},
                    {"high_freq_factor", s.rope_scaling.high_freq_factor}};
    if (s.rope_scaling.original_max_position_embeddings > 0) {
      scaling["original_max_position_embeddings"] = s.rope_scaling.original_max_position_embeddings;
    }
    c["rope_scaling"] = scaling;
  } else {
    c["rope_scaling"] = nullptr;
  }
  c["sliding_window"] = s.sliding_window > 0 ? json(s.sliding_window) : json(nullptr);
  if (s.family == ModelFamily::kQwen2) c["use_sliding_window"] = s.sliding_window > 0;
  if (s.family == ModelFamily::kMixtral) {
    c["num_local_experts"] = s.num_experts;
    c["num_experts_per_tok"] = s.experts_per_token;
  }
  return c;
}

}  // namespace

json hf_config_json(const ModelSpec& spec, const std::string& torch_dtype) {
  json c = spec.family == ModelFamily::kGpt2 ? gpt2_config(spec) : llama_like_config(spec);
  c["torch_dtype"] = torch_dtype;
  return c;
}

}  // namespace ds::engine::io
