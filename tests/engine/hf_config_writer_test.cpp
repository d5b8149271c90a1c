#include "engine/io/hf_config_writer.hpp"

#include <gtest/gtest.h>

#include "estimators/hf_config.hpp"
#include "estimators/param_count.hpp"
#include "estimators/presets.hpp"

namespace ds::engine::io {
namespace {

using estimators::ModelFamily;
using estimators::ModelSpec;
using nlohmann::json;

// hf_config_json is checked against the estimators'
// independent config.json reader: every preset must read back as a spec with the same parameter
// count that writes the same config again.
TEST(HfConfigWriter, EveryPresetReadsBackAsTheSameSpec) {
  int checked = 0;
  for (const auto& preset : estimators::model_presets()) {
    const ModelSpec& want = preset.spec;
    SCOPED_TRACE(want.name);
    json written = hf_config_json(want);
    ModelSpec got = estimators::model_spec_from_hf_config(written, "config.json");
    EXPECT_EQ(hf_config_json(got), written);
    EXPECT_EQ(estimators::count_params(got).total, estimators::count_params(want).total);
    EXPECT_EQ(got.sliding_window, want.sliding_window);
    EXPECT_EQ(got.rope_scaling.type, want.rope_scaling.type);
    EXPECT_EQ(got.experts_per_token, want.experts_per_token);
    ++checked;
  }
  EXPECT_GE(checked, 3);
  EXPECT_EQ(hf_config_json(estimators::find_model_preset("gpt2")->spec, "bfloat16")["architectures"][0],
            "GPT2LMHeadModel");
}

TEST(HfConfigWriter, Gpt2UsesGpt2ConfigKeyNames) {
  ModelSpec s;
  s.family = ModelFamily::kGpt2;
  s.layers = 12, s.hidden = 768, s.heads = 12, s.kv_heads = 12, s.head_dim = 64, s.ffn = 3072;
  s.vocab = 50257, s.max_seq = 1024, s.norm_eps = 1e-5, s.dropout = 0.1, s.tied_embeddings = true;
  // The keys of openai-community/gpt2's config.json (n_inner spelled out instead of null).
  EXPECT_EQ(hf_config_json(s), json::parse(R"({
    "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 12, "n_embd": 768, "n_head": 12,
    "n_inner": 3072, "vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024, "layer_norm_epsilon": 1e-05,
    "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
    "tie_word_embeddings": true, "torch_dtype": "float32"})"));
}

TEST(HfConfigWriter, LlamaWithGqaAndLlama3RopeScaling) {
  // Llama-3.2-1B's sizes.
  ModelSpec s;
  s.family = ModelFamily::kLlama;
  s.layers = 16, s.hidden = 2048, s.heads = 32, s.kv_heads = 8, s.head_dim = 64, s.ffn = 8192;
  s.vocab = 128256, s.max_seq = 131072, s.norm_eps = 1e-5, s.rope_theta = 500000.0, s.tied_embeddings = true;
  s.rope_scaling = {"llama3", 32.0, 1.0, 4.0, 8192};
  EXPECT_EQ(hf_config_json(s, "bfloat16"), json::parse(R"({
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 16, "hidden_size": 2048,
    "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "intermediate_size": 8192,
    "vocab_size": 128256, "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
    "hidden_act": "silu", "attention_dropout": 0.0, "tie_word_embeddings": true, "mlp_bias": false,
    "attention_bias": false, "sliding_window": null, "torch_dtype": "bfloat16",
    "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192}})"));
}

TEST(HfConfigWriter, FamilySpecificKeys) {
  ModelSpec s;
  s.layers = 2, s.hidden = 64, s.heads = 4, s.kv_heads = 2, s.head_dim = 16, s.ffn = 128, s.vocab = 100;
  s.max_seq = 32;
  s.family = ModelFamily::kMistral;
  s.sliding_window = 4096;
  json mistral = hf_config_json(s);
  EXPECT_EQ(mistral["architectures"], json::array({"MistralForCausalLM"}));
  EXPECT_EQ(mistral["sliding_window"], 4096);
  EXPECT_EQ(mistral["rope_scaling"], nullptr);
  EXPECT_FALSE(mistral.contains("use_sliding_window"));
  // Qwen2's q/k/v biases are implied by the model type: no attention_bias key.
  s.family = ModelFamily::kQwen2;
  s.qkv_bias = true;
  json qwen = hf_config_json(s);
  EXPECT_EQ(qwen["model_type"], "qwen2");
  EXPECT_FALSE(qwen.contains("attention_bias"));
  EXPECT_EQ(qwen["use_sliding_window"], true);
  s.sliding_window = 0;
  EXPECT_EQ(hf_config_json(s)["use_sliding_window"], false);
  s.family = ModelFamily::kMixtral;
  s.num_experts = 8, s.experts_per_token = 2;
  json mixtral = hf_config_json(s);
  EXPECT_EQ(mixtral["architectures"], json::array({"MixtralForCausalLM"}));
  EXPECT_EQ(mixtral["num_local_experts"], 8);
  EXPECT_EQ(mixtral["num_experts_per_tok"], 2);
  EXPECT_EQ(mixtral["attention_bias"], true);  // a Llama-style family with q/k/v biases says so
  ModelSpec back = estimators::model_spec_from_hf_config(mixtral, "config.json");
  EXPECT_EQ(back.num_experts, 8);
  EXPECT_TRUE(back.qkv_bias);
}

}  // namespace
}  // namespace ds::engine::io
