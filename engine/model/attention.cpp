#include "engine/model/attention.hpp"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "engine/model/checkpoint.hpp"

namespace ds::engine::model {
namespace {

constexpr bool kHaveFused = TORCH_VERSION_MAJOR >= 2;

/// Repeats kv heads so every query head has its own: [B, Hkv, T, d] -> [B, Hkv * rep, T, d].
torch::Tensor repeat_kv(const torch::Tensor& x, std::int64_t rep) {
  return rep == 1 ? x : x.repeat_interleave(rep, /*dim=*/1);
}

torch::Tensor plain_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const auto t_q = q.size(-2);
  const auto t_k = k.size(-2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q, k.transpose(-2, -1)).to(compute_dtype(q.scalar_type())) * scale;
  // Query i may read keys 0..i (+ t_k - t_q when keys include a cached prefix).
  auto mask = torch::ones({t_q, t_k}, torch::TensorOptions().dtype(torch::kBool).device(q.device()))
                  .triu(t_k - t_q + 1);
  scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  auto probs = torch::softmax(scores, -1).to(v.scalar_type());
  return torch::matmul(probs, v);
}

torch::Tensor fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true);
#else
  throw UsageError(format_error("attention", "fused scaled_dot_product_attention needs LibTorch >= 2.0",
                                TORCH_VERSION, "", "use the plain attention implementation"));
#endif
}

}  // namespace

bool has_fused_attention() { return kHaveFused; }

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               AttentionImpl impl) {
  const auto rep = q.size(1) / k.size(1);
  auto kk = repeat_kv(k, rep);
  auto vv = repeat_kv(v, rep);
  const bool fused = impl == AttentionImpl::kFused || (impl == AttentionImpl::kAuto && kHaveFused);
  return fused ? fused_attention(q, kk, vv) : plain_attention(q, kk, vv);
}

torch::Tensor causal_attention_with_prefix(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           AttentionImpl impl) {
  // The fused kernel's is_causal aligns the mask top-left, which is wrong with a prefix.
  if (q.size(-2) == k.size(-2)) return causal_attention(q, k, v, impl);
  const auto rep = q.size(1) / k.size(1);
  return plain_attention(q, repeat_kv(k, rep), repeat_kv(v, rep));
}

torch::Tensor Attention::core(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const AttentionContext& ctx) const {
  if (ctx.kv) return ctx.kv->attend(ctx.layer, q, k, v).transpose(1, 2).flatten(2);
  const auto impl = ctx.impl;
  auto run = [impl](const std::vector<torch::Tensor>& in) { return causal_attention(in[0], in[1], in[2], impl); };
  auto y = ctx.checkpoint_core ? checkpoint(run, {q, k, v}) : run({q, k, v});  // [B, H, T, d]
  return y.transpose(1, 2).flatten(2);                                          // [B, T, H * d]
}

Gpt2Attention::Gpt2Attention(const estimators::ModelSpec& spec)
    : heads_(spec.heads), kv_heads_(spec.kv_heads), head_dim_(spec.head_dim) {
  c_attn = register_module("c_attn", std::make_shared<Conv1D>(spec.hidden, spec.q_dim() + 2 * spec.kv_dim(),
                                                              spec.qkv_bias));
  c_proj = register_module("c_proj", std::make_shared<Conv1D>(spec.q_dim(), spec.hidden, spec.attn_out_bias));
}

torch::Tensor Gpt2Attention::forward(const torch::Tensor& x, const AttentionContext& ctx) {
  const auto b = x.size(0);
  const auto t = x.size(1);
  auto qkv = c_attn->forward(x).split_with_sizes({heads_ * head_dim_, kv_heads_ * head_dim_, kv_heads_ * head_dim_}, -1);
  auto q = qkv[0].view({b, t, heads_, head_dim_}).transpose(1, 2);
  auto k = qkv[1].view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
  auto v = qkv[2].view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
  return c_proj->forward(core(q, k, v, ctx));
}

LlamaAttention::LlamaAttention(const estimators::ModelSpec& spec)
    : heads_(spec.heads), kv_heads_(spec.kv_heads), head_dim_(spec.head_dim) {
  q_proj = register_module("q_proj", std::make_shared<Linear>(spec.hidden, spec.q_dim(), spec.qkv_bias));
  k_proj = register_module("k_proj", std::make_shared<Linear>(spec.hidden, spec.kv_dim(), spec.qkv_bias));
  v_proj = register_module("v_proj", std::make_shared<Linear>(spec.hidden, spec.kv_dim(), spec.qkv_bias));
  o_proj = register_module("o_proj", std::make_shared<Linear>(spec.q_dim(), spec.hidden, spec.attn_out_bias));
}

torch::Tensor LlamaAttention::forward(const torch::Tensor& x, const AttentionContext& ctx) {
  const auto b = x.size(0);
  const auto t = x.size(1);
  auto q = q_proj->forward(x).view({b, t, heads_, head_dim_}).transpose(1, 2);
  auto k = k_proj->forward(x).view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
  auto v = v_proj->forward(x).view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
  q = apply_rope(q, *ctx.rope);
  k = apply_rope(k, *ctx.rope);
  return o_proj->forward(core(q, k, v, ctx));
}

}  // namespace ds::engine::model
