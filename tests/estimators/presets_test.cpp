#include "estimators/presets.hpp"

#include <gtest/gtest.h>

#include <set>

#include "estimators/param_count.hpp"

namespace ds::estimators {
namespace {

const ModelSpec& spec_of(const char* name) {
  static const ModelSpec kNone;
  const ModelPreset* p = find_model_preset(name);
  EXPECT_NE(p, nullptr) << name;
  return p ? p->spec : kNone;
}

TEST(Presets, FindTakesOnlyTheExactName) {
  const ModelPreset* p = find_model_preset("llama-2-7b");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->spec.name, "llama-2-7b");
  EXPECT_EQ(p->source, "meta-llama/Llama-2-7b-hf");
  EXPECT_EQ(find_model_preset("Llama-2-7b"), nullptr);  // case matters
  EXPECT_EQ(find_model_preset("llama-2-7"), nullptr);   // no prefix match
  EXPECT_EQ(find_model_preset(""), nullptr);
  EXPECT_EQ(find_model_preset("ds-tiny")->source, "ds");
}

// The names list the presets in order, once each, GPT-2 first and the engine's models last; every
// preset comes from a Hugging Face "org/repo" or is ds's own, and is a valid spec.
TEST(Presets, NamesFollowTheListingOrderAndAreUnique) {
  const auto names = model_preset_names();
  const auto& presets = model_presets();
  ASSERT_EQ(names.size(), presets.size());
  ASSERT_EQ(names.size(), 18u);
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(names[i], presets[i].spec.name);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(names.front(), "gpt2");
  EXPECT_EQ(names[names.size() - 2], "ds-tiny");
  EXPECT_EQ(names.back(), "ds-small");
  for (const auto& p : presets) {
    EXPECT_TRUE(p.source == "ds" || p.source.find('/') != std::string::npos) << p.source;
    EXPECT_NO_THROW(check_model_spec(p.spec, p.spec.name));
    EXPECT_EQ(&p, find_model_preset(p.spec.name));
  }
}

// Figures from the Hugging Face config.json of each repository.
TEST(Presets, ArchitecturesMatchTheirConfigJson) {
  const ModelSpec& gpt2 = spec_of("gpt2");  // n_layer 12, n_embd 768, n_head 12, vocab 50257, n_positions 1024
  EXPECT_EQ(gpt2.layers, 12);
  EXPECT_EQ(gpt2.hidden, 768);
  EXPECT_EQ(gpt2.ffn, 3072);  // n_inner null -> 4 x n_embd
  EXPECT_EQ(gpt2.vocab, 50257);
  EXPECT_EQ(gpt2.max_seq, 1024);
  EXPECT_TRUE(gpt2.tied_embeddings);
  const ModelSpec& l70 = spec_of("llama-2-70b");  // GQA: 64 heads, 8 key/value heads
  EXPECT_EQ(l70.heads, 64);
  EXPECT_EQ(l70.kv_heads, 8);
  EXPECT_EQ(l70.head_dim, 128);
  EXPECT_EQ(l70.ffn, 28672);
  EXPECT_DOUBLE_EQ(spec_of("llama-3-8b").rope_theta, 500000.0);
  EXPECT_EQ(spec_of("llama-3-8b").vocab, 128256);
  const ModelSpec& l1b = spec_of("llama-3.2-1b");
  EXPECT_TRUE(l1b.tied_embeddings);
  EXPECT_EQ(l1b.head_dim, 64);
  EXPECT_EQ(l1b.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(l1b.rope_scaling.factor, 32.0);
  EXPECT_EQ(l1b.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(spec_of("mistral-7b").sliding_window, 4096);
  EXPECT_EQ(spec_of("mixtral-8x7b").num_experts, 8);
  EXPECT_EQ(spec_of("mixtral-8x7b").experts_per_token, 2);
  const ModelSpec& qwen = spec_of("qwen2.5-7b");
  EXPECT_TRUE(qwen.qkv_bias);
  EXPECT_FALSE(qwen.attn_out_bias);
  EXPECT_DOUBLE_EQ(qwen.norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(spec_of("qwen2.5-72b").norm_eps, 1e-5);
}

// Published counts (model.num_parameters()): Llama-2-7B 6,738,415,616; GPT-2 124,439,808.
// ds-tiny by hand: embed 512 x 128 = 65,536 (tied); per layer q 16,384 + k, v 2 x 8,192 +
// o 16,384 + MLP 3 x 65,536 + 2 norms 256 = 246,016; x 4 + final norm 128 -> 1,049,728.
TEST(Presets, CountsMatchPublishedNumbers) {
  EXPECT_EQ(count_params(spec_of("llama-2-7b")).total, 6'738'415'616);
  EXPECT_EQ(count_params(spec_of("gpt2")).total, 124'439'808);
  EXPECT_EQ(count_params(spec_of("ds-tiny")).total, 1'049'728);
  EXPECT_DOUBLE_EQ(spec_of("ds-small").dropout, 0.0);  // the engine applies none
}

}  // namespace
}  // namespace ds::estimators
