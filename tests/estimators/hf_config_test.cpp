#include "estimators/hf_config.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "estimators/param_count.hpp"
#include "estimators/presets.hpp"
#include "tests/support/error_of.hpp"

namespace ds::estimators {
namespace {

using test::error_of;

const std::string kData = std::string(DS_SOURCE_DIR) + "/tests/estimators/data/";

// Every preset has a fixture holding its Hugging Face config.json; parsing it must give the
// preset's architecture exactly (so presets and real configs cannot drift apart).
TEST(HfConfig, EveryFixtureParsesToItsPreset) {
  for (const auto& preset : model_presets()) {
    if (preset.source == "ds") continue;
    const ModelSpec& want = preset.spec;
    ModelSpec got = model_spec_from_hf_file(kData + "hf/" + want.name + "/config.json");
    SCOPED_TRACE(want.name);
    EXPECT_EQ(got.family, want.family);
    EXPECT_EQ(got.layers, want.layers);
    EXPECT_EQ(got.hidden, want.hidden);
    EXPECT_EQ(got.heads, want.heads);
    EXPECT_EQ(got.kv_heads, want.kv_heads);
    EXPECT_EQ(got.head_dim, want.head_dim);
    EXPECT_EQ(got.ffn, want.ffn);
    EXPECT_EQ(got.vocab, want.vocab);
    EXPECT_EQ(got.max_seq, want.max_seq);
    EXPECT_EQ(got.tied_embeddings, want.tied_embeddings);
    EXPECT_EQ(got.qkv_bias, want.qkv_bias);
    EXPECT_EQ(got.attn_out_bias, want.attn_out_bias);
    EXPECT_EQ(got.mlp_bias, want.mlp_bias);
    EXPECT_EQ(got.norm, want.norm);
    EXPECT_DOUBLE_EQ(got.norm_eps, want.norm_eps);
    EXPECT_DOUBLE_EQ(got.dropout, want.dropout);
    EXPECT_EQ(got.activation, want.activation);
    EXPECT_EQ(got.position, want.position);
    EXPECT_DOUBLE_EQ(got.rope_theta, want.rope_theta);
    EXPECT_EQ(got.rope_scaling.type, want.rope_scaling.type);
    EXPECT_DOUBLE_EQ(got.rope_scaling.factor, want.rope_scaling.factor);
    EXPECT_EQ(got.num_experts, want.num_experts);
    EXPECT_EQ(got.experts_per_token, want.experts_per_token);
    EXPECT_EQ(got.sliding_window, want.sliding_window);
    EXPECT_EQ(count_params(got).total, count_params(want).total);
  }
}

TEST(HfConfig, Gpt2DefaultsAndInnerWidth) {
  auto spec = model_spec_from_hf_config(
      nlohmann::json::parse(R"({"model_type":"gpt2","n_layer":2,"n_embd":64,"n_head":4,"vocab_size":100,"n_inner":100})"),
      "c.json");
  EXPECT_EQ(spec.ffn, 100);
  EXPECT_EQ(spec.max_seq, 1024);  // transformers' GPT2Config default n_positions
  EXPECT_TRUE(spec.tied_embeddings);
  EXPECT_DOUBLE_EQ(spec.dropout, 0.1);
  EXPECT_EQ(spec.head_dim, 16);
}

TEST(HfConfig, Qwen2HasQkvBiasAndLlama3RopeScalingIsRead) {
  auto qwen = model_spec_from_hf_file(kData + "hf/qwen2.5-7b/config.json");
  EXPECT_TRUE(qwen.qkv_bias);
  EXPECT_FALSE(qwen.attn_out_bias);
  EXPECT_EQ(qwen.sliding_window, 0);  // use_sliding_window false
  auto llama = model_spec_from_hf_file(kData + "hf/llama-3.1-405b/config.json");
  EXPECT_EQ(llama.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(llama.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(llama.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(llama.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(llama.rope_scaling.original_max_position_embeddings, 8192);
}

TEST(HfConfig, AttentionBiasAddsAllFourProjectionBiases) {
  auto spec = model_spec_from_hf_config(nlohmann::json::parse(R"({"model_type":"llama","num_hidden_layers":1,
      "hidden_size":8,"num_attention_heads":2,"intermediate_size":16,"vocab_size":10,"attention_bias":true})"),
                                        "c.json");
  EXPECT_TRUE(spec.qkv_bias);
  EXPECT_TRUE(spec.attn_out_bias);
  EXPECT_EQ(spec.kv_heads, 2);  // num_key_value_heads defaults to the heads
  // 10*8 embed + q,k,v,o (4 * (64 + 8)) + mlp 3*128 + 2 norms of 8 + final norm 8 + lm_head 80
  EXPECT_EQ(count_params(spec).total, 80 + 288 + 384 + 16 + 8 + 80);
}

TEST(HfConfig, UnsupportedFamilyNamesItAndListsTheSupportedOnes) {
  EXPECT_EQ(error_of<ConfigError>([] { model_spec_from_hf_file(kData + "bad/falcon_config.json"); }),
            kData + "bad/falcon_config.json: unsupported model_type (got 'falcon'); expected one of gpt2, llama, "
                    "mistral, qwen2, mixtral; hint: for another architecture pass --params N with --layers/--hidden "
                    "for a rough estimate");
}

TEST(HfConfig, BadInputErrorsNameTheKey) {
  auto parse = [](const char* text) {
    return error_of<ConfigError>([&] { model_spec_from_hf_config(nlohmann::json::parse(text), "config.json"); });
  };
  EXPECT_EQ(parse(R"({"hidden_size": 8})"),
            "config.json: model_type: required key is missing; expected one of gpt2, llama, mistral, qwen2, mixtral");
  EXPECT_EQ(parse(R"({"model_type":"llama","hidden_size":8})"),
            "config.json: num_hidden_layers: required key is missing; expected a positive integer for model_type 'llama'");
  EXPECT_EQ(parse(R"({"model_type":"gpt2","n_layer":"12"})"),
            "config.json: n_layer: wrong type (got \"12\"); expected a positive integer");
  EXPECT_EQ(parse(R"({"model_type":"gpt2","n_layer":0})"),
            "config.json: n_layer: must be positive (got 0); expected a positive integer");
  EXPECT_EQ(parse(R"({"model_type":"llama","num_hidden_layers":1,"hidden_size":8,"num_attention_heads":3,
                      "num_key_value_heads":2,"intermediate_size":16,"vocab_size":10})"),
            "config.json: num_attention_heads (3) is not a multiple of num_key_value_heads (2)");
  EXPECT_EQ(parse(R"({"model_type":"mixtral","num_hidden_layers":1,"hidden_size":8,"num_attention_heads":2,
                      "intermediate_size":16,"vocab_size":10,"num_local_experts":2,"num_experts_per_tok":3})"),
            "config.json: num_experts_per_tok (3) exceeds num_local_experts (2)");
  EXPECT_EQ(parse(R"({"model_type":"llama","num_hidden_layers":1,"hidden_size":8,"num_attention_heads":2,
                      "intermediate_size":16,"vocab_size":10,"rope_scaling":"big"})"),
            "config.json: rope_scaling: wrong type (got \"big\"); expected an object or null");
  EXPECT_EQ(parse(R"([1, 2])"), "config.json: not a Hugging Face config (got array); expected a JSON object");
  EXPECT_EQ(error_of<ConfigError>([] { model_spec_from_hf_file(kData + "bad/not_json.json"); }),
            kData + "bad/not_json.json: not valid JSON; expected a Hugging Face config.json");
}

// GPT-2's own config.json has "n_inner": null; null means unset, as in transformers. Without
// n_positions the older n_ctx gives the context. The spec is named after its source.
TEST(HfConfig, Gpt2NullInnerAndNCtxFallback) {
  auto spec = model_spec_from_hf_config(nlohmann::json::parse(R"({"model_type":"gpt2","n_layer":2,"n_embd":64,
      "n_head":4,"vocab_size":100,"n_inner":null,"n_ctx":512,"tie_word_embeddings":false,"resid_pdrop":0.0})"),
                                        "c.json");
  EXPECT_EQ(spec.name, "c.json");
  EXPECT_EQ(spec.ffn, 256);  // 4 x n_embd
  EXPECT_EQ(spec.max_seq, 512);
  EXPECT_FALSE(spec.tied_embeddings);
  EXPECT_DOUBLE_EQ(spec.dropout, 0.0);
}

// Mistral reads sliding_window; Qwen2 only when use_sliding_window is true; Mixtral without its
// MoE keys takes MixtralConfig's defaults (8 local experts, 2 per token).
TEST(HfConfig, SlidingWindowAndMixtralDefaults) {
  auto parse = [](const std::string& type, const std::string& extra) {
    return model_spec_from_hf_config(
        nlohmann::json::parse(R"({"model_type":")" + type + R"(","num_hidden_layers":1,"hidden_size":8,
            "num_attention_heads":2,"intermediate_size":16,"vocab_size":10,"sliding_window":64)" + extra + "}"),
        "c.json");
  };
  EXPECT_EQ(parse("mistral", "").sliding_window, 64);
  EXPECT_EQ(parse("qwen2", "").sliding_window, 0);
  EXPECT_EQ(parse("qwen2", R"(,"use_sliding_window":true)").sliding_window, 64);
  ModelSpec mixtral = parse("mixtral", "");
  EXPECT_EQ(mixtral.num_experts, 8);
  EXPECT_EQ(mixtral.experts_per_token, 2);
  EXPECT_EQ(parse("llama", "").num_experts, 0);
  EXPECT_EQ(parse("llama", "").max_seq, 2048);  // LlamaConfig's max_position_embeddings default
}

// A wrong-typed optional key is an error, never silently its default.
TEST(HfConfig, WrongTypedOptionalKeysAreErrors) {
  auto parse = [](const std::string& extra) {
    return error_of<ConfigError>([&] {
      model_spec_from_hf_config(nlohmann::json::parse(R"({"model_type":"llama","num_hidden_layers":1,"hidden_size":8,
          "num_attention_heads":2,"intermediate_size":16,"vocab_size":10,)" + extra + "}"),
                                "config.json");
    });
  };
  EXPECT_EQ(parse(R"("tie_word_embeddings":"yes")"),
            "config.json: tie_word_embeddings: wrong type (got \"yes\"); expected true or false");
  EXPECT_EQ(parse(R"("rms_norm_eps":"1e-5")"), "config.json: rms_norm_eps: wrong type (got \"1e-5\"); expected a number");
  EXPECT_EQ(parse(R"("num_key_value_heads":1.5)"),
            "config.json: num_key_value_heads: wrong type (got 1.5); expected a positive integer");
  EXPECT_EQ(parse(R"("rope_scaling":{"rope_type":"llama3","factor":"8"})"),
            "config.json: rope_scaling: factor: wrong type (got \"8\"); expected a number");
  EXPECT_EQ(error_of<UsageError>([] { model_spec_from_hf_file(kData + "no_such_config.json"); }),
            kData + "no_such_config.json: cannot read file (got No such file or directory); hint: check the path and "
                    "its permissions");
}

// A mistyped rope_type is an error like every other mistyped key, not a silently unscaled model.
TEST(HfConfig, NonStringRopeTypeIsAnError) {
  EXPECT_EQ(error_of<ConfigError>([] {
              model_spec_from_hf_config(nlohmann::json::parse(R"({"model_type":"llama","num_hidden_layers":1,
                  "hidden_size":8,"num_attention_heads":2,"intermediate_size":16,"vocab_size":10,
                  "rope_scaling":{"rope_type":3,"factor":8.0}})"),
                                        "config.json");
            }),
            "config.json: rope_scaling: rope_type: wrong type (got 3); expected a string");
}

}  // namespace
}  // namespace ds::estimators
