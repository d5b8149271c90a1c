#pragma once
// Decoder-only language models built from a ModelSpec: GPT-2 (learned positions, LayerNorm,
// GELU, biases, Conv1D weights) and Llama (RoPE, RMSNorm, SwiGLU, grouped-query attention;
// also Mistral and Qwen2, which share its layout). named_parameters() returns exactly the
// Hugging Face names and shapes (GPT2LMHeadModel, LlamaForCausalLM), so HF safetensors load
// and save without renaming; a tied lm_head is not a parameter of its own, as in HF.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cstdint>
#include <memory>

#include "configs/config.hpp"
#include "engine/model/attention.hpp"
#include "engine/model/feed_forward.hpp"
#include "engine/model/layers.hpp"
#include "estimators/model_spec.hpp"

namespace ds::engine::model {

/// How a model is built.
struct ModelOptions {
  torch::ScalarType dtype = torch::kFloat32;  ///< weights and activations: fp32, bf16, fp16 (fp64 in tests)
  torch::Device device = torch::kCPU;         ///< where the weights live
  std::uint64_t seed = 42;                    ///< weight-initialisation seed (init_weights)
  /// none | full (every block) | selective (attention core only) | every-N (blocks 0, N, 2N, ...).
  configs::CheckpointPolicy checkpointing;
  AttentionImpl attention = AttentionImpl::kAuto;
  /// ZeRO-3's partitioned construction: every parameter is a placeholder (PlaceholderParameters)
  /// of `dtype` on `device`, uninitialised; the values come from initial_values(), bucket by bucket.
  bool placeholders = false;
};

/// One transformer block, pre-norm: h = x + attn(norm1(x)); y = h + mlp(norm2(h)).
/// Submodule names follow HF: GPT-2 ln_1/attn/ln_2/mlp, Llama self_attn/mlp/input_layernorm/
/// post_attention_layernorm (in HF's registration order).
class Block : public torch::nn::Module {
 public:
  explicit Block(const estimators::ModelSpec& spec);
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx);

  std::shared_ptr<UnaryModule> norm1;
  std::shared_ptr<Attention> attn;
  std::shared_ptr<UnaryModule> norm2;
  std::shared_ptr<FeedForward> mlp;  ///< the slot a mixture-of-experts layer will take
};

/// The backbone: GPT2Model ("transformer": wte, wpe, h, ln_f) or LlamaModel ("model":
/// embed_tokens, layers, norm).
class Decoder : public torch::nn::Module {
 public:
  explicit Decoder(const estimators::ModelSpec& spec);

  std::shared_ptr<Embedding> embed;
  std::shared_ptr<Embedding> positions;  ///< GPT-2 only
  torch::nn::ModuleList blocks;
  std::shared_ptr<UnaryModule> final_norm;
};

/// Lets ZeRO-3 fetch a block's partitioned parameters just before the block runs and drop them
/// after (engine/zero). forward() calls begin_forward() first, before()/after() around every
/// transformer block (after() may return the output with a gradient hook attached) and
/// end_forward() with the logits.
class BlockHooks {
 public:
  virtual ~BlockHooks() = default;
  virtual void begin_forward() = 0;
  virtual void before_block(std::int64_t index) = 0;
  virtual torch::Tensor after_block(std::int64_t index, torch::Tensor output) = 0;
  virtual void end_forward() = 0;
};

/// A causal language model: backbone + lm_head. Construct with build_model().
class CausalLM : public torch::nn::Module {
 public:
  /// Allocates the parameters (uninitialised; build_model initialises them). Throws UsageError
  /// for specs this engine cannot build (unknown layout, MoE, unsupported rope scaling).
  CausalLM(const estimators::ModelSpec& spec, const ModelOptions& options);

  /// Logits [B, T, vocab] in the model's dtype for input_ids [B, T] (int64). `positions`
  /// ([T] or [B, T]) defaults to 0..T-1.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& positions = {});

  /// Inference over a KV cache: input_ids and positions [1, N] hold several sequences' new
  /// tokens packed; `kv` stores their keys/values and attends over each one's history. Returns
  /// the logits [M, vocab] of the M packed tokens at `logit_rows` ([M] int64) only, so a long
  /// prompt chunk does not pay for the lm_head on every token.
  torch::Tensor forward_cached(const torch::Tensor& input_ids, const torch::Tensor& positions, KvAttention& kv,
                               const torch::Tensor& logit_rows);

  const estimators::ModelSpec& spec() const { return spec_; }
  const ModelOptions& options() const { return options_; }
  /// Changes activation checkpointing (e.g. from the trainer's config).
  void set_checkpointing(const configs::CheckpointPolicy& policy);
  /// Whether block `index` recomputes its activations in backward under the current policy.
  bool checkpoints_block(std::int64_t index) const;
  /// Installs (or, with nullptr, removes) the hooks forward() calls; not owned.
  void set_block_hooks(BlockHooks* hooks) { hooks_ = hooks; }

  std::shared_ptr<Decoder> decoder;
  std::shared_ptr<Linear> lm_head;  ///< null when tied to the input embedding

 private:
  torch::Tensor default_positions(const torch::Tensor& input_ids) const;
  /// The backbone: hidden states after the final norm.
  torch::Tensor hidden_states(const torch::Tensor& input_ids, AttentionContext& ctx);
  torch::Tensor head(const torch::Tensor& h);

  /// rope_inv_freq() as a float64 tensor on `device`, kept so a forward on a GPU does not copy
  /// it from the host every time. Undefined for learned positions.
  const torch::Tensor& inv_freq_on(const torch::Device& device);

  estimators::ModelSpec spec_;
  ModelOptions options_;
  std::vector<double> rope_inv_freq_;  ///< empty for learned positions
  torch::Tensor inv_freq_;             ///< cache for inv_freq_on()
  BlockHooks* hooks_ = nullptr;
};

/// Builds the model on the CPU in fp32, initialises it from options.seed (init_weights), then
/// moves it to options.device and options.dtype. Same spec and seed give bitwise the same
/// weights on every device. With options.placeholders: nothing is allocated or initialised.
std::shared_ptr<CausalLM> build_model(const estimators::ModelSpec& spec, const ModelOptions& options = {});

/// Mean cross-entropy of logits [B, T, V] against targets [B, T], computed in fp32 (fp64 for
/// fp64 logits) whatever the model dtype.
torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace ds::engine::model
