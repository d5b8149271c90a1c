#include "estimators/model_spec.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "estimators/hf_config.hpp"
#include "estimators/param_count.hpp"
#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

const std::string kData = std::string(DS_SOURCE_DIR) + "/tests/estimators/data/";

template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "no error";
}

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

TEST(LoadModelSpec, TakesPresetFileOrDirectory) {
  EXPECT_EQ(load_model_spec("llama-2-7b").name, "llama-2-7b");
  EXPECT_EQ(load_model_spec(kData + "hf/gpt2/config.json").layers, 12);
  EXPECT_EQ(load_model_spec(kData + "hf/mixtral-8x7b").num_experts, 8);
}

TEST(LoadModelSpec, UnknownPresetListsTheNearest) {
  EXPECT_EQ(error_of<UsageError>([] { load_model_spec("llama-2-7", "--model"); }),
            "--model: unknown model preset (got 'llama-2-7'); expected a preset name, a config.json file or a "
            "directory holding one; hint: nearest presets: llama-2-7b, llama-2-70b, llama-2-13b; `ds estimate presets` "
            "lists them all");
  EXPECT_EQ(error_of<UsageError>([] { load_model_spec("no/such/config.json", "--model"); }),
            "--model: no such file or directory (got 'no/such/config.json'); expected a preset name, a config.json "
            "file or a directory holding one");
  EXPECT_EQ(error_of<UsageError>([] { load_model_spec(kData + "bad/empty_dir", "--model"); }),
            "--model: directory has no config.json (got '" + kData +
                "bad/empty_dir'); expected a directory holding a Hugging Face config.json");
}

TEST(RoughModel, LandsNearTheRequestedCount) {
  for (double target : {1.3e8, 1e9, 7e9, 7e10}) {
    ModelSpec spec = rough_model_spec({target, {}, {}, {}});
    double got = static_cast<double>(count_params(spec).total);
    EXPECT_NEAR(got / target, 1.0, 0.05) << target;
    EXPECT_EQ(spec.hidden % 128, 0);
  }
  // 7e9 alone: the Llama-2-7B aspect ratio gives 4096 x 32-ish.
  ModelSpec seven = rough_model_spec({7e9, {}, {}, {}});
  EXPECT_EQ(seven.hidden, 4096);
  EXPECT_EQ(seven.max_seq, 4096);
}

TEST(RoughModel, FixedShapeFitsTheMlpToTheCount) {
  ModelSpec spec = rough_model_spec({6738415616.0, 32, 4096, 2048});
  EXPECT_EQ(spec.layers, 32);
  EXPECT_EQ(spec.hidden, 4096);
  EXPECT_EQ(spec.ffn, 11008);  // recovers Llama-2-7B's MLP width from its exact count
  EXPECT_EQ(count_params(spec).total, 6738415616);
  EXPECT_EQ(spec.max_seq, 2048);
  ModelSpec deep = rough_model_spec({7e9, 64, {}, {}});
  EXPECT_EQ(deep.layers, 64);
  EXPECT_NEAR(static_cast<double>(count_params(deep).total) / 7e9, 1.0, 0.1);
}

TEST(RoughModel, RejectsCountsTooSmallForTheShape) {
  EXPECT_EQ(error_of<UsageError>([] { rough_model_spec({1e6, 32, 4096, {}}); }),
            "--params: too small for this shape (got 1.00 M); expected at least the embeddings and one block (329.28 M "
            "params at hidden 4096); hint: lower --hidden/--layers or raise --params");
  EXPECT_EQ(error_of<UsageError>([] { rough_model_spec({-1, {}, {}, {}}); }),
            "--params: must be positive (got -1.000000)");
}

}  // namespace
}  // namespace ds::estimators
