#pragma once
// Causal self-attention for GPT-2 (fused c_attn, Conv1D weights) and Llama (q/k/v/o_proj,
// rotary positions, grouped-query attention), sharing one attention core.
#include <torch/nn/module.h>

#include <memory>
#include <optional>

#include "engine/model/layers.hpp"
#include "engine/model/rope.hpp"
#include "estimators/model_spec.hpp"

namespace ds::engine::model {

/// Which implementation computes softmax(QK^T / sqrt(d)) V.
enum class AttentionImpl {
  kAuto,   ///< fused when this LibTorch has scaled_dot_product_attention (>= 2.0), else plain
  kFused,  ///< at::scaled_dot_product_attention; UsageError on LibTorch 1.x
  kPlain,  ///< matmul, causal mask, softmax in fp32 (or fp64), matmul
};

/// True when this build's LibTorch has at::scaled_dot_product_attention.
bool has_fused_attention();

/// Attention over a KV cache, for inference: the forward's new keys and values are stored, and
/// each query attends to its sequence's whole history. engine/infer implements it with paged
/// blocks; the model only calls it, so training code paths do not change.
class KvAttention {
 public:
  virtual ~KvAttention() = default;
  /// q [1, H, N, d] and k, v [1, Hkv, N, d] for the N tokens of this forward (several sequences
  /// packed one after another, rotary positions already applied) -> [1, H, N, d].
  virtual torch::Tensor attend(std::int64_t layer, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v) = 0;
};

/// Per-forward inputs every attention layer shares, so block signatures need not change.
struct AttentionContext {
  torch::Tensor positions;             ///< [T] or [B, T], int64
  std::optional<RopeTables> rope;      ///< set for rotary models
  AttentionImpl impl = AttentionImpl::kAuto;
  bool checkpoint_core = false;        ///< recompute the attention core in backward (selective)
  KvAttention* kv = nullptr;           ///< inference: the cache to attend over (not owned)
  std::int64_t layer = 0;              ///< the block running, for `kv`
};

/// softmax(q k^T / sqrt(d) + causal mask) v for q [B, H, T, d] and k, v [B, Hkv, T, d]; k/v heads
/// are repeated H / Hkv times (query head j reads kv head j / (H / Hkv), as HF's repeat_kv).
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               AttentionImpl impl);

/// Like causal_attention, but the t_q queries are the last t_q positions of the t_k keys (a
/// cached prefix before them): query i reads keys 0 .. t_k - t_q + i. Equal lengths are
/// causal_attention.
torch::Tensor causal_attention_with_prefix(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           AttentionImpl impl);

/// Base of both attention variants: projections differ, the core is shared.
class Attention : public torch::nn::Module {
 public:
  /// x [B, T, hidden] -> [B, T, hidden].
  virtual torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx) = 0;

 protected:
  /// Runs the core, checkpointed when ctx asks for it, and merges heads: [B, T, H * d].
  torch::Tensor core(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const AttentionContext& ctx) const;
};

/// GPT2Attention: c_attn (Conv1D [hidden, q + 2 kv]) and c_proj (Conv1D [q, hidden]).
class Gpt2Attention : public Attention {
 public:
  explicit Gpt2Attention(const estimators::ModelSpec& spec);
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx) override;

  std::shared_ptr<Conv1D> c_attn;
  std::shared_ptr<Conv1D> c_proj;

 private:
  std::int64_t heads_, kv_heads_, head_dim_;
};

/// LlamaAttention: q_proj, k_proj, v_proj, o_proj (nn.Linear), rotary positions on q and k.
class LlamaAttention : public Attention {
 public:
  explicit LlamaAttention(const estimators::ModelSpec& spec);
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx) override;

  std::shared_ptr<Linear> q_proj, k_proj, v_proj, o_proj;

 private:
  std::int64_t heads_, kv_heads_, head_dim_;
};

}  // namespace ds::engine::model
