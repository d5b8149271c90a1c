#pragma once
// Activation memory: what the forward pass saves for the backward pass.
//
// The per-layer terms are those of Korthikanti et al. 2022, "Reducing Activation Recomputation
// in Large Transformer Models" (arXiv:2205.05198) §4: with 16-bit activations and 1-byte dropout
// masks a GPT layer saves sbh(34 + 5as/h) bytes -- attention 11sbh + 5as^2b, MLP 19sbh, two
// LayerNorms 4sbh. With tensor parallelism t the layer saves sbh(10 + 24/t + 5as/(ht)); with
// sequence parallelism also sbh(34/t + 5as/(ht)); selective recomputation drops the 5as^2b
// attention-core term; full recomputation keeps only the 2sbh layer input.
//
// We build the same sum term by term so it follows the architecture: GQA shrinks the saved K and
// V to kv_heads/heads of Q; a SwiGLU MLP saves four s x ffn tensors (gate, up, SiLU(gate),
// product) instead of GELU's two; no dropout (Llama-style) removes the masks; MoE routes each
// token through experts_per_token MLPs; fused attention (FlashAttention, Dao et al. 2022) saves
// an fp32 log-sum-exp row per head instead of the s x s scores. Activations are in the working
// precision (4 bytes in fp32 training). DeepSpeed-Ulysses sequence parallelism (sp) divides the
// sequence each rank holds. Where the graph PyTorch records keeps more than the paper's count
// (RMSNorm's fp32 upcast, an fp32 softmax, GQA's repeated K and V before plain attention, the
// fp32 cross-entropy), we count what ds's engine measures (docs/estimator.md, "Validation").
#include <cstdint>

#include "estimators/model_spec.hpp"
#include "estimators/plan.hpp"

namespace ds::estimators {

/// Bytes one transformer layer saves for one micro-batch on one rank, split the way parallelism
/// and recomputation treat them (tp and sequence_parallel already applied).
struct LayerActivationBytes {
  double replicated = 0;        ///< LayerNorm inputs and outputs, dropout masks, router probs: split only by sequence_parallel
  double tp_split = 0;          ///< Q, K, V, attention output, MLP inner tensors, fused log-sum-exp: divided by tp
  double attention_scores = 0;  ///< softmax output, dropout mask and output (s x s per head; 0 when fused)
  double layer_input = 0;       ///< the block input, all that full recomputation keeps
  double input_in_saved = 0;    ///< the part of the saved tensors that is the block input itself (shared when recomputed)
  double backward_workspace = 0;  ///< live only while the block runs backward: gradients beyond the saved tensors

  /// Saved bytes per layer under `checkpointing`.
  double saved(Checkpointing checkpointing) const;
};

/// The activation footprint of a plan on its fullest pipeline stage.
struct ActivationMemory {
  LayerActivationBytes layer;         ///< per layer, per micro-batch
  int stages = 1;                     ///< pipeline stages (pp)
  std::int64_t layers_on_stage = 0;   ///< ceil(layers / pp)
  std::int64_t in_flight = 1;         ///< micro-batches a 1F1B first stage holds: min(pp, grad_accum)
  double stored_bytes = 0;            ///< saved activations of every layer on the stage and micro-batch in flight
  double recompute_bytes = 0;         ///< workspace while one layer (recomputes and) runs backward (not with the logits)
  double embedding_bytes = 0;         ///< embedding dropout masks (first stage), RoPE tables
  double output_bytes = 0;            ///< what the final norm keeps and the lm_head input (last stage)
  double logits_bytes = 0;            ///< the larger of forward (logits, fp32 copy, log-probs) and backward (fp32 log-probs and two gradients)
  double held_grad_bytes = 0;         ///< tied embeddings: lm_head's weight gradient, held through backward (last stage)
  double end_of_backward_bytes = 0;   ///< the embedding's weight gradients when backward ends (tied: 3 V x h; last stage)

  /// The two device items on the fullest stage: activations (everything but the logits) and
  /// logits. Their sum is the activation peak: stored + embedding + max(output + logits,
  /// recompute) with one stage, the larger of the first and last stage with pp > 1.
  double activations_item() const;
  double logits_item() const;
  /// Activations on the fullest stage while one block runs backward (checkpoint inputs or saved
  /// tensors, the block's recomputation and workspace, a held tied gradient; no logits): the
  /// moment ZeRO-2/3 gradient buckets fill and are reduced.
  double block_backward_bytes() const;
};

/// Per-layer saved bytes for one rank (`micro_batch` sequences of `seq_len / sp` tokens).
LayerActivationBytes layer_activation_bytes(const ModelSpec& model, const Plan& plan);

/// The activation footprint of `plan`.
ActivationMemory activation_memory(const ModelSpec& model, const Plan& plan);

}  // namespace ds::estimators
