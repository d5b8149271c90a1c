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

namespace {

// Bytes per token one normalisation keeps (its output is counted by the projection it feeds).
// LayerNorm keeps its input (Korthikanti's 2sbh; its fp32 mean and rstd, 8 B per token, are
// left out as the paper does). RMSNorm as HF's LlamaRMSNorm and ds's engine write it
// (x.float(), pow(2).mean, rsqrt, weight * normed.to(dtype)) keeps its fp32 input, the
// normalised value in the working precision and the fp32 rsqrt per token; LibTorch 1.13's mean()
// also keeps its input, the squared fp32 values (measured; PyTorch 2 keeps only sizes). A plan
// without fused attention is priced as LibTorch 1.13 runs it: fused attention needs PyTorch 2.
double norm_bytes_per_token(const ModelSpec& m, const Plan& p, double e) {
  const double h = static_cast<double>(m.hidden);
  if (m.norm == NormType::kLayerNorm) return e * h;
  return (p.fused_attention ? 4 + e : 8 + e) * h + 4;
}

// Whether a recomputed block's first saved tensor is the block input the checkpoint already
// holds: LayerNorm saves its input as is, RMSNorm its fp32 copy (the input itself only in fp32).
bool norm_keeps_block_input(const ModelSpec& m, double e) { return m.norm == NormType::kLayerNorm || e == 4; }

}  // namespace

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
  // Korthikanti et al. 2022 §4.1, not split by tp: what the two norms keep (LayerNorm: its input,
  // 2sbh each), their outputs feeding the QKV and first MLP projections (2sbh + 2sbh), the
  // attention and MLP dropout masks (sbh + sbh) -> 10sbh with 16-bit activations.
  out.replicated = sb * (2 * norm_bytes_per_token(m, p, e) + 2 * e * h + 2 * mask * h);
  // MoE router: fp32 routing probabilities per token and expert (our addition; small).
  if (m.is_moe()) out.replicated += 4 * sb * static_cast<double>(m.num_experts);
  // Split by tp: Q and K for QK^T and V for the weighted sum (4sbh + 2sbh for MHA), the attention
  // output feeding the output projection (2sbh), and the MLP inner tensors (GELU: its input and
  // output, 8sbh + 8sbh at ffn = 4h). With GQA, fused attention reads the kv_heads/heads smaller K
  // and V; plain attention (HF's eager repeat_kv, ds's engine) saves them repeated to every head.
  double kv_saved = p.fused_attention ? m.kv_dim() : m.q_dim();
  double qkv = e * (m.q_dim() + 2.0 * kv_saved) + e * m.q_dim();
  double mlp_tensors = m.activation == Activation::kSwiGlu ? 4.0 : 2.0;
  double mlp = e * mlp_tensors * static_cast<double>(m.ffn) * (m.is_moe() ? m.experts_per_token : 1);
  out.tp_split = sb * (qkv + mlp);
  // Attention core: a heads of s x s. Korthikanti: softmax output 2as^2b, dropout mask as^2b,
  // dropout output 2as^2b (Megatron's softmax runs in the working precision). Without dropout
  // (Llama-style models, ds's engine, which applies none) the softmax runs in fp32 as HF's eager
  // LlamaAttention and ds's plain attention do: its fp32 output stays, plus a working-precision
  // copy for the weighted sum unless training in fp32; the s x s causal mask (1 byte) stays too.
  // Ulysses gives each sp rank a/sp heads over the full sequence.
  double heads_here = static_cast<double>(m.heads) / p.sp;
  if (p.fused_attention) {
    out.tp_split += 4.0 * heads_here * full_seq * b;  // fp32 log-sum-exp per head and query
  } else if (mask > 0) {
    out.attention_scores = heads_here * full_seq * full_seq * b * (e + mask * (1 + e));
  } else {
    double softmax = 4.0 + (e < 4 ? e : 0.0);
    out.attention_scores = heads_here * full_seq * full_seq * b * softmax + full_seq * full_seq;
  }
  out.layer_input = e * sb * h;
  out.input_in_saved = norm_keeps_block_input(m, e) ? out.layer_input : 0.0;
  // Backward of one block, beyond its saved tensors: the gradient of its output, two ffn-wide
  // gradients of the MLP at once, one fp32 hidden-wide gradient inside the norm, and the fresh
  // gradient of its largest weight before autograd adds it into the gradient buffer (measured).
  out.backward_workspace = sb * (e * h + 2 * e * static_cast<double>(m.ffn) + 4 * h) +
                           e * h * static_cast<double>(m.ffn);
  out.tp_split /= t;
  out.attention_scores /= t;
  out.backward_workspace /= t;
  if (p.sequence_parallel) {  // Megatron sequence parallelism splits the rest along the sequence
    out.replicated /= t;
    out.layer_input /= t;
    out.input_in_saved /= t;
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
  // "every-N" checkpoints blocks 0, N, 2N, ...; the others keep everything.
  const std::int64_t every = p.checkpointing == Checkpointing::kFull ? std::max(1, p.checkpoint_every) : 1;
  const std::int64_t recomputed = (a.layers_on_stage + every - 1) / every;
  const std::int64_t kept = a.layers_on_stage - recomputed;
  const double whole = a.layer.saved(Checkpointing::kNone);
  a.stored_bytes = (a.layer.saved(p.checkpointing) * static_cast<double>(recomputed) +
                    (p.checkpointing == Checkpointing::kFull ? whole * static_cast<double>(kept) : 0.0)) *
                   static_cast<double>(a.in_flight);
  // A block's backward needs its workspace; a recomputed block first rebuilds its saved tensors
  // (sharing the kept input). When the last recomputed block runs, the kept blocks after it have
  // already finished their backward and freed what they saved.
  a.recompute_bytes = a.layer.backward_workspace;
  if (p.checkpointing == Checkpointing::kFull) {
    std::int64_t after_last = a.layers_on_stage - 1 - (a.layers_on_stage - 1) / every * every;
    a.recompute_bytes += whole - a.layer.input_in_saved - whole * static_cast<double>(after_last);
  }
  if (p.checkpointing == Checkpointing::kSelective) a.recompute_bytes += a.layer.attention_scores;

  const double sb = static_cast<double>(p.seq_len) / p.sp * static_cast<double>(p.micro_batch);
  const double h = static_cast<double>(m.hidden);
  const double e = dtype_bytes(p.dtype);
  const double seq_split = p.sequence_parallel ? p.tp : 1;
  // Embedding dropout mask (GPT-2's embd_pdrop), one per micro-batch in flight.
  a.embedding_bytes = (m.dropout > 0 ? sb * h : 0.0) / seq_split * static_cast<double>(a.in_flight);
  // RoPE's cos and sin tables, [s, head_dim] each, built once per forward.
  if (m.position == PositionEncoding::kRope) {
    a.embedding_bytes += 2 * e * static_cast<double>(p.seq_len) * static_cast<double>(m.head_dim);
  }
  // Output layer (Korthikanti §4.3): what the final norm keeps and the lm_head input.
  a.output_bytes = sb * (norm_bytes_per_token(m, p, e) + e * h) / seq_split;
  // Logits s x b x v/t. Cross-entropy runs in fp32 (as transformers' loss does): the forward
  // holds the working-precision logits, their fp32 copy and the fp32 log-probs the loss saves
  // (e + 8 bytes); backward then holds the log-probs, their gradient and the logits' fp32
  // gradient at once (12 bytes), the larger of the two.
  a.logits_bytes = sb * static_cast<double>(m.vocab) / p.tp * std::max(e + 8.0, 12.0);
  // The embedding matrix's gradient. Tied to lm_head, the matrix gets two gradients: autograd
  // holds lm_head's (made first) until the embedding's arrives at the end of backward, then adds
  // them out of place, so three V x h gradients are live at the end (with nothing else left).
  const double matrix_grad = e * static_cast<double>(m.vocab) / p.tp * h;
  a.held_grad_bytes = m.tied_embeddings ? matrix_grad : 0.0;
  a.end_of_backward_bytes = m.tied_embeddings ? 3 * matrix_grad : matrix_grad;
  return a;
}

namespace {

// Bytes on the last stage with one stage's worth of layers for one micro-batch, at the fullest of
// three moments of backward: its start (the logits), a layer's backward or recompute (after the
// logits are freed, beside a held tied gradient), and its end (the embedding's gradients).
double last_stage_without_logits(const ActivationMemory& a, double layers) {
  double start = layers + a.output_bytes + a.logits_bytes;
  double layer = layers + a.recompute_bytes + a.held_grad_bytes;
  return std::max({start, layer, a.end_of_backward_bytes}) - a.logits_bytes;
}

// With pp > 1 the first stage holds the most micro-batches, the last the logits; the fuller wins.
bool first_stage_is_fuller(const ActivationMemory& a) {
  double first = a.stored_bytes + a.embedding_bytes + a.recompute_bytes;
  double last = a.stored_bytes / static_cast<double>(a.in_flight) +
                std::max(a.output_bytes + a.logits_bytes, a.recompute_bytes);
  return first >= last;
}

}  // namespace

double ActivationMemory::block_backward_bytes() const {
  const double last = stored_bytes / static_cast<double>(in_flight) + recompute_bytes + held_grad_bytes;
  if (stages == 1) return embedding_bytes + last;
  if (first_stage_is_fuller(*this)) return stored_bytes + embedding_bytes + recompute_bytes;
  return last;
}

double ActivationMemory::activations_item() const {
  if (stages == 1) return embedding_bytes + last_stage_without_logits(*this, stored_bytes);
  if (first_stage_is_fuller(*this)) return stored_bytes + embedding_bytes + recompute_bytes;
  return last_stage_without_logits(*this, stored_bytes / static_cast<double>(in_flight));
}

double ActivationMemory::logits_item() const {
  return stages > 1 && first_stage_is_fuller(*this) ? 0.0 : logits_bytes;
}

}  // namespace ds::estimators
