#include "engine/model/causal_lm.hpp"

#include <torch/torch.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/model/checkpoint.hpp"
#include "engine/model/init.hpp"

namespace ds::engine::model {
namespace {

using estimators::ModelFamily;

bool gpt2_layout(const estimators::ModelSpec& spec) { return spec.family == ModelFamily::kGpt2; }

/// The two layouts ds builds, and what each needs from the spec: anything else has no Hugging
/// Face parameter names to load or save under.
void check_buildable(const estimators::ModelSpec& spec) {
  estimators::check_model_spec(spec, spec.name);
  const std::string where = spec.name + " (" + std::string(estimators::family_name(spec.family)) + ")";
  if (spec.is_moe()) {
    throw UsageError(format_error(where, "mixture-of-experts blocks are not built by the ds engine yet",
                                  std::to_string(spec.num_experts) + " experts", "a dense model",
                                  "estimate it with `ds estimate`; train a dense model"));
  }
  const bool gpt2 = gpt2_layout(spec);
  const bool ok = gpt2 ? spec.norm == estimators::NormType::kLayerNorm &&
                             spec.activation == estimators::Activation::kGelu &&
                             spec.position == estimators::PositionEncoding::kLearned
                       : spec.norm == estimators::NormType::kRmsNorm &&
                             spec.activation == estimators::Activation::kSwiGlu &&
                             spec.position == estimators::PositionEncoding::kRope;
  if (!ok) {
    throw UsageError(format_error(where, "layout has no Hugging Face counterpart", "",
                                  gpt2 ? "gpt2: LayerNorm, GELU, learned positions"
                                       : "llama-style: RMSNorm, SwiGLU, rotary positions"));
  }
  if (!gpt2 && spec.head_dim % 2 != 0) {
    throw UsageError(format_error(where, "rotary embeddings need an even head_dim", std::to_string(spec.head_dim)));
  }
}

std::shared_ptr<UnaryModule> make_norm(const estimators::ModelSpec& spec) {
  if (spec.norm == estimators::NormType::kLayerNorm) return std::make_shared<LayerNorm>(spec.hidden, spec.norm_eps);
  return std::make_shared<RmsNorm>(spec.hidden, spec.norm_eps);
}

}  // namespace

Block::Block(const estimators::ModelSpec& spec) {
  if (gpt2_layout(spec)) {  // GPT2Block.__init__ order
    norm1 = register_module("ln_1", make_norm(spec));
    attn = register_module("attn", std::static_pointer_cast<Attention>(std::make_shared<Gpt2Attention>(spec)));
    norm2 = register_module("ln_2", make_norm(spec));
    mlp = register_module("mlp", std::static_pointer_cast<FeedForward>(std::make_shared<GeluMlp>(spec)));
  } else {  // LlamaDecoderLayer.__init__ order
    attn = register_module("self_attn", std::static_pointer_cast<Attention>(std::make_shared<LlamaAttention>(spec)));
    mlp = register_module("mlp", std::static_pointer_cast<FeedForward>(std::make_shared<SwiGluMlp>(spec)));
    norm1 = register_module("input_layernorm", make_norm(spec));
    norm2 = register_module("post_attention_layernorm", make_norm(spec));
  }
}

torch::Tensor Block::forward(const torch::Tensor& x, const AttentionContext& ctx) {
  auto h = x + attn->forward(norm1->forward(x), ctx);
  return h + mlp->forward(norm2->forward(h));
}

Decoder::Decoder(const estimators::ModelSpec& spec) {
  const bool gpt2 = gpt2_layout(spec);
  embed = register_module(gpt2 ? "wte" : "embed_tokens", std::make_shared<Embedding>(spec.vocab, spec.hidden));
  if (gpt2) positions = register_module("wpe", std::make_shared<Embedding>(spec.max_seq, spec.hidden));
  blocks = register_module(gpt2 ? "h" : "layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < spec.layers; ++i) blocks->push_back(std::make_shared<Block>(spec));
  final_norm = register_module(gpt2 ? "ln_f" : "norm", make_norm(spec));
}

CausalLM::CausalLM(const estimators::ModelSpec& spec, const ModelOptions& options) : spec_(spec), options_(options) {
  check_buildable(spec);
  if (spec.dropout > 0) log::debug(spec.name, ": dropout ", spec.dropout, " is not applied by the ds engine");
  decoder = register_module(gpt2_layout(spec) ? "transformer" : "model", std::make_shared<Decoder>(spec));
  if (!spec.tied_embeddings) lm_head = register_module("lm_head", std::make_shared<Linear>(spec.hidden, spec.vocab, false));
  if (spec.position == estimators::PositionEncoding::kRope) rope_inv_freq_ = rope_inv_freq(spec);
  set_checkpointing(options.checkpointing);
}

void CausalLM::set_checkpointing(const configs::CheckpointPolicy& policy) {
  using Kind = configs::CheckpointPolicy::Kind;
  if (policy.kind == Kind::kEveryN && policy.every_n < 1) {
    throw UsageError(format_error("activation checkpointing", "every-N needs N >= 1", std::to_string(policy.every_n)));
  }
  options_.checkpointing = policy;
}

bool CausalLM::checkpoints_block(std::int64_t index) const {
  using Kind = configs::CheckpointPolicy::Kind;
  const auto& p = options_.checkpointing;
  return p.kind == Kind::kFull || (p.kind == Kind::kEveryN && index % p.every_n == 0);
}

torch::Tensor CausalLM::default_positions(const torch::Tensor& input_ids) const {
  return torch::arange(input_ids.size(1), torch::TensorOptions().dtype(torch::kLong).device(input_ids.device()));
}

const torch::Tensor& CausalLM::inv_freq_on(const torch::Device& device) {
  if (!inv_freq_.defined() || inv_freq_.device() != device) {
    inv_freq_ = torch::tensor(rope_inv_freq_, torch::kFloat64).to(device);
  }
  return inv_freq_;
}

torch::Tensor CausalLM::forward(const torch::Tensor& input_ids, const torch::Tensor& positions) {
  const auto t = input_ids.size(1);
  const bool windowed = spec_.sliding_window > 0 && spec_.sliding_window < spec_.max_seq;
  const auto limit = windowed ? spec_.sliding_window : spec_.max_seq;
  if (t > limit) {
    throw UsageError(format_error(spec_.name, "sequence longer than the model supports", std::to_string(t) + " tokens",
                                  "at most " + std::to_string(limit),
                                  windowed ? "this engine attends over the whole sequence (no sliding window): use --seq up to the window" : ""));
  }
  AttentionContext ctx;
  ctx.positions = positions.defined() ? positions : default_positions(input_ids);
  ctx.impl = options_.attention;
  ctx.checkpoint_core = options_.checkpointing.kind == configs::CheckpointPolicy::Kind::kSelective;
  if (hooks_) hooks_->begin_forward();
  auto logits = head(hidden_states(input_ids, ctx));
  if (hooks_) hooks_->end_forward();
  return logits;
}

torch::Tensor CausalLM::forward_cached(const torch::Tensor& input_ids, const torch::Tensor& positions, KvAttention& kv,
                                       const torch::Tensor& logit_rows) {
  AttentionContext ctx;
  ctx.positions = positions;
  ctx.impl = options_.attention;
  ctx.kv = &kv;
  auto h = hidden_states(input_ids, ctx);  // [1, N, hidden]
  return head(h[0].index_select(0, logit_rows));
}

torch::Tensor CausalLM::hidden_states(const torch::Tensor& input_ids, AttentionContext& ctx) {
  auto h = decoder->embed->forward(input_ids);
  if (decoder->positions) h = h + decoder->positions->forward(ctx.positions);
  if (!rope_inv_freq_.empty()) ctx.rope = rope_tables(inv_freq_on(h.device()), ctx.positions, h.scalar_type());
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(decoder->blocks->size()); ++i) {
    auto block = decoder->blocks->ptr<Block>(static_cast<std::size_t>(i));
    ctx.layer = i;
    if (hooks_) hooks_->before_block(i);
    if (checkpoints_block(i)) {
      h = checkpoint([block, ctx](const std::vector<torch::Tensor>& in) { return block->forward(in[0], ctx); }, {h});
    } else {
      h = block->forward(h, ctx);
    }
    if (hooks_) h = hooks_->after_block(i, h);
  }
  return decoder->final_norm->forward(h);
}

torch::Tensor CausalLM::head(const torch::Tensor& h) {
  return lm_head ? lm_head->forward(h) : torch::nn::functional::linear(h, decoder->embed->weight);
}

std::shared_ptr<CausalLM> build_model(const estimators::ModelSpec& spec, const ModelOptions& options) {
  if (options.placeholders) {
    PlaceholderParameters scope(torch::TensorOptions().dtype(options.dtype).device(options.device));
    return std::make_shared<CausalLM>(spec, options);
  }
  auto model = std::make_shared<CausalLM>(spec, options);
  init_weights(*model, options.seed);
  model->to(options.device, options.dtype);
  return model;
}

torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto dtype = compute_dtype(logits.scalar_type());
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(dtype), targets.reshape({-1}));
}

}  // namespace ds::engine::model
