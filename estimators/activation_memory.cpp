#include "estimators/activation_memory.hpp"

#include <algorithm>

namespace ds::estimators {

double LayerActivationBytes::saved(Checkpointing checkpointing) const {
  switch (checkpointing) {
    case Checkpointing::kNone: return replicated + tp_split + attention_scores;
    // Selective recomputation re-runs only the attention core (Korthikanti et al. 2022 §5).
    case Checkpointing::kSelective: return replicated + tp_split;
    // Full recomputation keeps each block's input and re-runs the block (Chen et al. 2016).
    case Checkpointing::kFull: return layer_input;
  }
  return replicated + tp_split + attention_scores;
}

LayerActivationBytes layer_activation_bytes(const ModelSpec& m, const Plan& p) {
  const double full_seq = static_cast<double>(p.seq_len);
  const double s = full_seq / p.sp;  // tokens this rank holds outside attention (DeepSpeed-Ulysses)
  const double b = static_cast<double>(p.micro_batch);
  const double sb = s * b;
  const double h = static_cast<double>(m.hidden);
  const double e = dtype_bytes(p.dtype);
  const double t = p.tp;
  const double mask = m.dropout > 0 ? 1.0 : 0.0;  // dropout masks are 1 byte per element

  LayerActivationBytes out;
  // Korthikanti et al. 2022 §4.1, not split by tp: the two LayerNorm inputs (4sbh) and their
  // outputs feeding the QKV and first MLP projections (2sbh + 2sbh), the attention and MLP
  // dropout masks (sbh + sbh) -> 10sbh with 16-bit activations.
  out.replicated = sb * h * (4 * e + 2 * mask);
  // MoE router: fp32 routing probabilities per token and expert (our addition; small).
  if (m.is_moe()) out.replicated += 4 * sb * static_cast<double>(m.num_experts);
  // Split by tp: Q and K for QK^T and V for the weighted sum (4sbh + 2sbh for MHA; K and V shrink
  // to kv_heads/heads with GQA), the attention output feeding the output projection (2sbh), and
  // the MLP inner tensors (GELU: its input and output, 8sbh + 8sbh at ffn = 4h).
  double qkv = e * (m.q_dim() + 2.0 * m.kv_dim()) + e * m.q_dim();
  double mlp_tensors = m.activation == Activation::kSwiGlu ? 4.0 : 2.0;
  double mlp = e * mlp_tensors * static_cast<double>(m.ffn) * (m.is_moe() ? m.experts_per_token : 1);
  out.tp_split = sb * (qkv + mlp);
  // Attention core: a heads of s x s. Korthikanti: softmax output 2as^2b, dropout mask as^2b,
  // dropout output 2as^2b. Ulysses gives each sp rank a/sp heads over the full sequence.
  double heads_here = static_cast<double>(m.heads) / p.sp;
  if (p.fused_attention) {
    out.tp_split += 4.0 * heads_here * full_seq * b;  // fp32 log-sum-exp per head and query
  } else {
    out.attention_scores = heads_here * full_seq * full_seq * b * (e + mask * (1 + e));
  }
  out.layer_input = e * sb * h;
  out.tp_split /= t;
  out.attention_scores /= t;
  if (p.sequence_parallel) {  // Megatron sequence parallelism splits the rest along the sequence
    out.replicated /= t;
    out.layer_input /= t;
  }
  return out;
}

ActivationMemory activation_memory(const ModelSpec& m, const Plan& p) {
  ActivationMemory a;
  a.layer = layer_activation_bytes(m, p);
  a.stages = p.pp;
  a.layers_on_stage = (m.layers + p.pp - 1) / p.pp;
  // 1F1B: the first stage holds activations of up to pp micro-batches (Narayanan et al. 2021 §2.2).
  a.in_flight = p.pp > 1 ? std::min<std::int64_t>(p.pp, p.grad_accum) : 1;
  a.stored_bytes = a.layer.saved(p.checkpointing) * static_cast<double>(a.layers_on_stage * a.in_flight);
  if (p.checkpointing == Checkpointing::kFull) a.recompute_bytes = a.layer.saved(Checkpointing::kNone);
  if (p.checkpointing == Checkpointing::kSelective) a.recompute_bytes = a.layer.attention_scores;

  const double sb = static_cast<double>(p.seq_len) / p.sp * static_cast<double>(p.micro_batch);
  const double h = static_cast<double>(m.hidden);
  const double e = dtype_bytes(p.dtype);
  const double seq_split = p.sequence_parallel ? p.tp : 1;
  // Embedding dropout mask (GPT-2's embd_pdrop), one per micro-batch in flight.
  a.embedding_bytes = (m.dropout > 0 ? sb * h : 0.0) / seq_split * static_cast<double>(a.in_flight);
  // Output layer (Korthikanti §4.3): final norm input and lm_head input.
  a.output_bytes = 2 * e * sb * h / seq_split;
  // Logits s x b x v/t in the working precision, the fp32 log-softmax the loss saves and its fp32
  // gradient when backward starts (cross-entropy in fp32, as transformers' loss does).
  a.logits_bytes = sb * static_cast<double>(m.vocab) / p.tp * (e + 8.0);
  return a;
}

namespace {

// Bytes on the last stage with one stage's worth of layers for one micro-batch; the recompute
// workspace appears only after the logits are freed.
double last_stage_without_logits(const ActivationMemory& a, double layers) {
  return layers + a.output_bytes + std::max(0.0, a.recompute_bytes - a.output_bytes - a.logits_bytes);
}

// With pp > 1 the first stage holds the most micro-batches, the last the logits; the fuller wins.
bool first_stage_is_fuller(const ActivationMemory& a) {
  double first = a.stored_bytes + a.embedding_bytes + a.recompute_bytes;
  double last = a.stored_bytes / static_cast<double>(a.in_flight) +
                std::max(a.output_bytes + a.logits_bytes, a.recompute_bytes);
  return first >= last;
}

}  // namespace

double ActivationMemory::activations_item() const {
  if (stages == 1) return embedding_bytes + last_stage_without_logits(*this, stored_bytes);
  if (first_stage_is_fuller(*this)) return stored_bytes + embedding_bytes + recompute_bytes;
  return last_stage_without_logits(*this, stored_bytes / static_cast<double>(in_flight));
}

double ActivationMemory::logits_item() const {
  return stages > 1 && first_stage_is_fuller(*this) ? 0.0 : logits_bytes;
}

}  // namespace ds::estimators
