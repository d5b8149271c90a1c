#include "estimators/param_count.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

std::int64_t total_of(const char* preset) { return count_params(find_model_preset(preset)->spec).total; }

// Published counts: Hugging Face model cards / safetensors metadata (model.num_parameters()),
// the list, and tests/estimators/reference/param_counts.py (torch modules on the meta
// device) for every row.
TEST(ParamCount, MatchesPublishedCounts) {
  EXPECT_EQ(total_of("gpt2"), 124'439'808);
  EXPECT_EQ(total_of("gpt2-medium"), 354'823'168);
  EXPECT_EQ(total_of("gpt2-large"), 774'030'080);
  EXPECT_EQ(total_of("gpt2-xl"), 1'557'611'200);
  EXPECT_EQ(total_of("llama-2-7b"), 6'738'415'616);
  EXPECT_EQ(total_of("llama-2-13b"), 13'015'864'320);
  EXPECT_EQ(total_of("llama-2-70b"), 68'976'648'192);
  EXPECT_EQ(total_of("llama-3-8b"), 8'030'261'248);
  EXPECT_EQ(total_of("llama-3-70b"), 70'553'706'496);
  EXPECT_EQ(total_of("llama-3.1-405b"), 405'853'388'800);
  EXPECT_EQ(total_of("llama-3.2-1b"), 1'235'814'400);
  EXPECT_EQ(total_of("llama-3.2-3b"), 3'212'749'824);
  EXPECT_EQ(total_of("mistral-7b"), 7'241'732'096);
  EXPECT_EQ(total_of("mixtral-8x7b"), 46'702'792'704);
  EXPECT_EQ(total_of("qwen2.5-7b"), 7'615'616'512);
  EXPECT_EQ(total_of("qwen2.5-72b"), 72'706'203'648);
}

// The engine's test models, by hand. ds-tiny (Llama, h=128, 4 layers, 4 heads / 2 kv of 32,
// ffn 512, vocab 512, tied): embed 65,536; per layer q 16,384 + k 8,192 + v 8,192 + o 16,384 +
// mlp 3 x 65,536 + norms 256 = 246,016; x4 = 984,064; final norm 128 -> 1,049,728.
// ds-small (GPT-2, h=384, 6 layers, vocab 8192, 256 positions): wte 3,145,728 + wpe 98,304;
// per layer ln 768 + c_attn 443,520 + c_proj 147,840 + ln 768 + c_fc 591,360 + c_proj 590,208 =
// 1,774,464; x6 = 10,646,784; ln_f 768 -> 13,891,584.
TEST(ParamCount, EngineTestModels) {
  EXPECT_EQ(total_of("ds-tiny"), 1'049'728);
  EXPECT_EQ(total_of("ds-small"), 13'891'584);
}

// tests/estimators/data/param_reference.json is the output of reference/param_counts.py over
// every fixture config (regenerate: cd tests/estimators && python3 reference/param_counts.py
// data/hf/*/config.json > data/param_reference.json). Total, DeepSpeed's largest layer and the
// ZeRO-3 persistent parameters must all agree.
TEST(ParamCount, MatchesTorchReference) {
  auto ref = nlohmann::json::parse(read_file(std::string(DS_SOURCE_DIR) + "/tests/estimators/data/param_reference.json"));
  ASSERT_EQ(ref.size(), 16u);
  for (const auto& [path, want] : ref.items()) {
    std::string name = path.substr(std::string("data/hf/").size());
    name = name.substr(0, name.find('/'));
    SCOPED_TRACE(name);
    ParamCount c = count_params(find_model_preset(name)->spec);
    EXPECT_EQ(c.total, want.at("total").get<std::int64_t>());
    EXPECT_EQ(c.largest_module, want.at("largest").get<std::int64_t>());
    EXPECT_EQ(small_tensor_params(c, 100000), want.at("persistent").get<std::int64_t>());
  }
}

TEST(ParamCount, BreakdownUsesHuggingFaceModuleNames) {
  ParamCount c = count_params(find_model_preset("llama-2-7b")->spec);
  ASSERT_EQ(c.modules.size(), 12u);
  EXPECT_EQ(c.modules[0].name, "model.embed_tokens");
  EXPECT_EQ(c.modules[0].total(), 131'072'000);
  EXPECT_EQ(c.modules[2].name, "model.layers.*.self_attn.q_proj");
  EXPECT_EQ(c.modules[2].per_instance(), 16'777'216);
  EXPECT_EQ(c.modules[2].instances, 32);
  EXPECT_EQ(c.modules.back().name, "lm_head");
  EXPECT_EQ(c.per_layer, 202'383'360);
  EXPECT_EQ(c.group_total("attention"), 32 * 4 * 16'777'216LL);
  EXPECT_EQ(c.group_total("mlp"), 32 * 3 * 45'088'768LL);
  EXPECT_EQ(c.group_total("norms"), 32 * 2 * 4096);
  EXPECT_EQ(c.group_total("no such group"), 0);
  EXPECT_EQ(c.active_per_token, c.total);
}

TEST(ParamCount, MixtralExpertsAndActiveParams) {
  ParamCount c = count_params(find_model_preset("mixtral-8x7b")->spec);
  // 3 matrices of 4096 x 14336 per expert, 8 experts, 32 layers.
  EXPECT_EQ(c.group_total("experts"), 3LL * 4096 * 14336 * 8 * 32);
  EXPECT_EQ(c.group_total("router"), 4096LL * 8 * 32);
  // Two of eight experts per token ("12.9B active"): 46,702,792,704 - 6 idle experts x
  // 176,160,768 x 32 layers = 46,702,792,704 - 33,822,867,456.
  EXPECT_EQ(c.active_per_token, 12'879'925'248);
}

TEST(ParamCount, TiedGpt2HasNoSeparateHead) {
  ParamCount c = count_params(find_model_preset("gpt2")->spec);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.group_total("lm_head"), 0);
  EXPECT_EQ(c.group_total("positional"), 1024 * 768);
  EXPECT_EQ(c.largest_module, 50257 * 768);
}

// ZeRO-3's persistent parameters by where they sit. ds-tiny (hidden 128, 4 blocks, tied
// embedding of 512 x 128): under 10 x hidden only the norms (2 per block, the final one); under
// 1e5 every tensor, the largest being the MLP's 128 x 512.
TEST(PersistentParams, SplitIntoOneBlockAndTheRest) {
  ParamCount c = count_params(find_model_preset("ds-tiny")->spec);
  PersistentParams norms = persistent_params(c, 1280);
  EXPECT_EQ(norms.per_layer, 2 * 128);
  EXPECT_EQ(norms.other, 128);
  EXPECT_EQ(norms.per_layer * 4 + norms.other, small_tensor_params(c, 1280));
  PersistentParams all = persistent_params(c, 100000);
  EXPECT_EQ(all.per_layer, c.per_layer);
  EXPECT_EQ(all.per_layer * 4 + all.other, c.total);
  EXPECT_EQ(persistent_params(c, 65536).per_layer, c.per_layer) << "at most the threshold, as DeepSpeed's <=";
  EXPECT_EQ(persistent_params(c, 0).per_layer + persistent_params(c, 0).other, 0);
}

TEST(ParamsPerRank, TensorAndPipelineSharding) {
  const ModelSpec& spec = find_model_preset("llama-2-7b")->spec;
  ParamCount c = count_params(spec);
  EXPECT_EQ(params_per_rank(c, spec.layers, 1, 1), c.total);
  // tp=2: every linear and the vocabulary split in two, the norms replicated.
  std::int64_t norms = c.group_total("norms") + c.group_total("final_norm");
  EXPECT_EQ(params_per_rank(c, spec.layers, 2, 1), (c.total - norms) / 2 + norms);
  // pp=4: 8 layers per stage; the first stage holds the embedding, the last the final norm and
  // lm_head -- equal here, so the fuller stage is 8 layers + 131M.
  EXPECT_EQ(params_per_rank(c, spec.layers, 1, 4), 8 * c.per_layer + 131'072'000 + 4096);
}

TEST(ParamsPerRank, TiedEmbeddingIsCopiedToTheLastStage) {
  const ModelSpec& spec = find_model_preset("gpt2")->spec;
  ParamCount c = count_params(spec);
  // Last stage: 6 layers + ln_f + a copy of wte (50257 x 768) > first stage (wte + wpe)? No:
  // first = wte + wpe; last = ln_f + wte; wpe (786,432) > ln_f (1,536), so the first stage wins.
  EXPECT_EQ(params_per_rank(c, spec.layers, 1, 2), 6 * c.per_layer + 50257 * 768 + 1024 * 768);
}

}  // namespace
}  // namespace ds::estimators
