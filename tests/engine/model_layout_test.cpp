// Parameter names and shapes against Hugging Face's (GPT2LMHeadModel, LlamaForCausalLM, in the
// order their __init__ registers modules), counts against the estimator, seeded init, dtypes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/error.hpp"
#include "engine/model/causal_lm.hpp"
#include "engine/model/init.hpp"
#include "estimators/param_count.hpp"
#include "estimators/presets.hpp"

namespace ds::engine::model {
namespace {

using Shape = std::vector<std::int64_t>;
using NamedShapes = std::vector<std::pair<std::string, Shape>>;

estimators::ModelSpec layout_preset(const std::string& name) {
  const auto* p = estimators::find_model_preset(name);
  EXPECT_NE(p, nullptr) << name;
  return p->spec;
}

NamedShapes named_shapes(torch::nn::Module& m) {
  NamedShapes out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value().sizes().vec());
  return out;
}

// transformers/models/gpt2/modeling_gpt2.py: GPT2Model(wte, wpe, drop, h, ln_f); GPT2Block(ln_1,
// attn, ln_2, mlp); GPT2Attention(c_attn, c_proj); GPT2MLP(c_fc, c_proj); Conv1D weight [nx, nf].
NamedShapes hf_gpt2(std::int64_t layers, std::int64_t h, std::int64_t vocab, std::int64_t positions) {
  NamedShapes out = {{"transformer.wte.weight", {vocab, h}}, {"transformer.wpe.weight", {positions, h}}};
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string p = "transformer.h." + std::to_string(i) + ".";
    NamedShapes layer = {{p + "ln_1.weight", {h}},          {p + "ln_1.bias", {h}},
                         {p + "attn.c_attn.weight", {h, 3 * h}}, {p + "attn.c_attn.bias", {3 * h}},
                         {p + "attn.c_proj.weight", {h, h}},     {p + "attn.c_proj.bias", {h}},
                         {p + "ln_2.weight", {h}},          {p + "ln_2.bias", {h}},
                         {p + "mlp.c_fc.weight", {h, 4 * h}},    {p + "mlp.c_fc.bias", {4 * h}},
                         {p + "mlp.c_proj.weight", {4 * h, h}},  {p + "mlp.c_proj.bias", {h}}};
    out.insert(out.end(), layer.begin(), layer.end());
  }
  out.push_back({"transformer.ln_f.weight", {h}});
  out.push_back({"transformer.ln_f.bias", {h}});
  return out;
}

// transformers/models/llama/modeling_llama.py: LlamaModel(embed_tokens, layers, norm);
// LlamaDecoderLayer(self_attn, mlp, input_layernorm, post_attention_layernorm); nn.Linear [out, in].
NamedShapes hf_llama(const estimators::ModelSpec& s, bool qkv_bias) {
  const auto h = s.hidden, q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim, f = s.ffn;
  NamedShapes out = {{"model.embed_tokens.weight", {s.vocab, h}}};
  for (std::int64_t i = 0; i < s.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    out.push_back({p + "self_attn.q_proj.weight", {q, h}});
    if (qkv_bias) out.push_back({p + "self_attn.q_proj.bias", {q}});
    out.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    if (qkv_bias) out.push_back({p + "self_attn.k_proj.bias", {kv}});
    out.push_back({p + "self_attn.v_proj.weight", {kv, h}});
    if (qkv_bias) out.push_back({p + "self_attn.v_proj.bias", {kv}});
    NamedShapes rest = {{p + "self_attn.o_proj.weight", {h, q}}, {p + "mlp.gate_proj.weight", {f, h}},
                        {p + "mlp.up_proj.weight", {f, h}},      {p + "mlp.down_proj.weight", {h, f}},
                        {p + "input_layernorm.weight", {h}},     {p + "post_attention_layernorm.weight", {h}}};
    out.insert(out.end(), rest.begin(), rest.end());
  }
  out.push_back({"model.norm.weight", {h}});
  if (!s.tied_embeddings) out.push_back({"lm_head.weight", {s.vocab, h}});
  return out;
}

std::int64_t numel(torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// Construction only allocates (torch::empty), so even the 1B model costs no memory traffic.
TEST(ModelLayout, Gpt2MatchesHuggingFaceNamesShapesAndCount) {
  auto spec = layout_preset("gpt2");
  CausalLM model(spec, {});
  EXPECT_EQ(named_shapes(model), hf_gpt2(12, 768, 50257, 1024));
  EXPECT_EQ(numel(model), 124439808);  // the published GPT-2 small count
  EXPECT_EQ(numel(model), estimators::count_params(spec).total);
  EXPECT_EQ(model.lm_head, nullptr);   // tied: HF has no separate lm_head parameter either
}

TEST(ModelLayout, LlamaMatchesHuggingFaceNamesShapesAndCount) {
  auto spec = layout_preset("llama-3.2-1b");  // GQA 32/8 heads, tied embeddings, llama3 rope scaling
  CausalLM model(spec, {});
  EXPECT_EQ(named_shapes(model), hf_llama(spec, false));
  EXPECT_EQ(numel(model), 1235814400);  // meta-llama/Llama-3.2-1B
  EXPECT_EQ(numel(model), estimators::count_params(spec).total);
}

TEST(ModelLayout, UntiedLlamaWithQkvBiasHasLmHeadAndBiases) {
  auto spec = layout_preset("ds-tiny");
  spec.family = estimators::ModelFamily::kQwen2;
  spec.tied_embeddings = false;
  spec.qkv_bias = true;
  CausalLM model(spec, {});
  EXPECT_EQ(named_shapes(model), hf_llama(spec, true));
  EXPECT_EQ(numel(model), estimators::count_params(spec).total);
}

TEST(ModelLayout, EnginePresetsCountLikeTheEstimator) {
  for (const char* name : {"ds-tiny", "ds-small"}) {
    auto spec = layout_preset(name);
    CausalLM model(spec, {});
    EXPECT_EQ(numel(model), estimators::count_params(spec).total) << name;
  }
}

TEST(ModelLayout, SameSeedSameWeightsBitwise) {
  auto spec = layout_preset("ds-tiny");
  auto a = build_model(spec, {.seed = 7});
  auto b = build_model(spec, {.seed = 7});
  auto c = build_model(spec, {.seed = 8});
  auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  bool any_differs = false;
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
    any_differs |= !torch::equal(item.value(), pc[item.key()]);
  }
  EXPECT_TRUE(any_differs);
}

TEST(ModelLayout, InitFollowsGpt2Scheme) {
  auto spec = layout_preset("ds-small");  // 6 layers: residual std 0.02 / sqrt(12)
  auto m = build_model(spec, {.seed = 1});
  auto p = m->named_parameters();
  auto stddev = [&](const std::string& n) { return p[n].std().item<double>(); };
  EXPECT_NEAR(stddev("transformer.wte.weight"), 0.02, 0.0005);
  EXPECT_NEAR(stddev("transformer.h.0.attn.c_attn.weight"), 0.02, 0.0005);
  EXPECT_NEAR(stddev("transformer.h.3.mlp.c_proj.weight"), 0.02 / std::sqrt(12.0), 0.0003);
  EXPECT_NEAR(stddev("transformer.h.5.attn.c_proj.weight"), 0.02 / std::sqrt(12.0), 0.0003);
  EXPECT_TRUE(torch::equal(p["transformer.h.2.ln_1.weight"], torch::ones({384})));
  EXPECT_TRUE(torch::equal(p["transformer.h.2.mlp.c_fc.bias"], torch::zeros({1536})));
  EXPECT_TRUE(is_residual_projection("model.layers.3.self_attn.o_proj"));
  EXPECT_TRUE(is_residual_projection("model.layers.3.mlp.down_proj"));
  EXPECT_FALSE(is_residual_projection("model.layers.3.mlp.up_proj"));
}

TEST(ModelLayout, DtypesAndForwardShapes) {
  // Ids and targets come from the global generator, whose state otherwise depends on which tests
  // ran before in this process: it failed twice in hundreds of CI runs with a draw near a bound.
  torch::manual_seed(20261204);
  auto spec = layout_preset("ds-tiny");
  auto ids = torch::randint(0, spec.vocab, {2, 16}, torch::kLong);
  auto fp32 = build_model(spec, {.seed = 3});
  auto logits = fp32->forward(ids);
  EXPECT_EQ(logits.sizes(), (Shape{2, 16, spec.vocab}));
  auto bf16 = build_model(spec, {.dtype = torch::kBFloat16, .seed = 3});
  for (const auto& p : bf16->parameters()) EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
  auto bf16_logits = bf16->forward(ids);
  EXPECT_EQ(bf16_logits.scalar_type(), torch::kBFloat16);
  auto targets = torch::randint(0, spec.vocab, {2, 16}, torch::kLong);
  auto loss32 = next_token_loss(logits, targets).item<double>();
  auto loss16 = next_token_loss(bf16_logits, targets).item<double>();
  EXPECT_EQ(next_token_loss(bf16_logits, targets).scalar_type(), torch::kFloat32);
  EXPECT_NEAR(loss16, loss32, 0.02 * loss32);
  // Small init: near-uniform predictions for unrelated targets, loss ~ ln(vocab).
  EXPECT_NEAR(loss32, std::log(static_cast<double>(spec.vocab)), 0.1);
  auto fp16 = build_model(spec, {.dtype = torch::kFloat16, .seed = 3});
  for (const auto& p : fp16->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat16);
}

TEST(ModelLayout, UnbuildableSpecsAreExplained) {
  auto error_of = [](const estimators::ModelSpec& s) -> std::string {
    try {
      CausalLM m(s, {});
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error_of(layout_preset("mixtral-8x7b")),
            "mixtral-8x7b (mixtral): mixture-of-experts blocks are not built by the ds engine yet (got 8 experts); "
            "expected a dense model; hint: estimate it with `ds estimate`; train a dense model");
  auto s = layout_preset("ds-tiny");
  s.norm = estimators::NormType::kLayerNorm;
  EXPECT_EQ(error_of(s), "ds-tiny (llama): layout has no Hugging Face counterpart; expected llama-style: RMSNorm, "
                         "SwiGLU, rotary positions");
  s = layout_preset("ds-tiny");
  s.rope_scaling.type = "yarn";
  EXPECT_EQ(error_of(s), "ds-tiny: rope_scaling.rope_type: not supported by the ds engine (got 'yarn'); expected "
                         "none, \"linear\" or \"llama3\"");
  auto m = build_model(layout_preset("ds-tiny"), {});
  try {
    m->forward(torch::zeros({1, 129}, torch::kLong));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "ds-tiny: sequence longer than the model supports (got 129 tokens); expected "
                                     "at most 128");
  }
  if (!has_fused_attention()) {
    auto fused = build_model(layout_preset("ds-tiny"), {.attention = AttentionImpl::kFused});
    EXPECT_THROW(fused->forward(torch::zeros({1, 4}, torch::kLong)), UsageError);
  }
}

}  // namespace
}  // namespace ds::engine::model
