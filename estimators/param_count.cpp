#include "estimators/param_count.hpp"

#include <algorithm>
#include <cmath>

namespace ds::estimators {
namespace {

using S = TpSharding;

// A Linear/Conv1D of `in` x `out` with an optional bias of `out`.
ModuleParams linear(std::string name, std::string group, std::int64_t in, std::int64_t out, bool bias, S sharding) {
  ModuleParams m;
  m.name = std::move(name);
  m.group = std::move(group);
  m.weight = in * out;
  m.bias = bias ? out : 0;
  m.sharding = sharding;
  return m;
}

ModuleParams norm(std::string name, std::string group, const ModelSpec& s) {
  ModuleParams m;
  m.name = std::move(name);
  m.group = std::move(group);
  m.weight = s.hidden;
  m.bias = s.norm == NormType::kLayerNorm ? s.hidden : 0;  // LayerNorm has a bias, RMSNorm does not
  return m;
}

ModuleParams table(std::string name, std::string group, std::int64_t rows, std::int64_t width, S sharding) {
  ModuleParams m;
  m.name = std::move(name);
  m.group = std::move(group);
  m.weight = rows * width;
  m.sharding = sharding;
  return m;
}

// transformers' GPT2LMHeadModel: fused c_attn (h -> 3h), Conv1D projections with biases.
std::vector<ModuleParams> gpt2_layer(const ModelSpec& s) {
  const std::string p = "transformer.h.*.";
  return {norm(p + "ln_1", "norms", s),
          linear(p + "attn.c_attn", "attention", s.hidden, 3 * s.hidden, true, S::kColumn),
          linear(p + "attn.c_proj", "attention", s.hidden, s.hidden, true, S::kRow),
          norm(p + "ln_2", "norms", s),
          linear(p + "mlp.c_fc", "mlp", s.hidden, s.ffn, true, S::kColumn),
          linear(p + "mlp.c_proj", "mlp", s.ffn, s.hidden, true, S::kRow)};
}

// transformers' LlamaDecoderLayer (also Mistral, Qwen2) and MixtralDecoderLayer.
std::vector<ModuleParams> llama_layer(const ModelSpec& s) {
  const std::string p = "model.layers.*.";
  std::vector<ModuleParams> out = {
      norm(p + "input_layernorm", "norms", s),
      linear(p + "self_attn.q_proj", "attention", s.hidden, s.q_dim(), s.qkv_bias, S::kColumn),
      linear(p + "self_attn.k_proj", "attention", s.hidden, s.kv_dim(), s.qkv_bias, S::kColumn),
      linear(p + "self_attn.v_proj", "attention", s.hidden, s.kv_dim(), s.qkv_bias, S::kColumn),
      linear(p + "self_attn.o_proj", "attention", s.q_dim(), s.hidden, s.attn_out_bias, S::kRow),
      norm(p + "post_attention_layernorm", "norms", s)};
  if (s.is_moe()) {
    const std::string e = p + "block_sparse_moe.";
    out.push_back(linear(e + "gate", "router", s.hidden, s.num_experts, false, S::kReplicated));
    out.push_back(linear(e + "experts.*.w1", "experts", s.hidden, s.ffn, false, S::kColumn));
    out.push_back(linear(e + "experts.*.w2", "experts", s.ffn, s.hidden, false, S::kRow));
    out.push_back(linear(e + "experts.*.w3", "experts", s.hidden, s.ffn, false, S::kColumn));
  } else {
    out.push_back(linear(p + "mlp.gate_proj", "mlp", s.hidden, s.ffn, s.mlp_bias, S::kColumn));
    out.push_back(linear(p + "mlp.up_proj", "mlp", s.hidden, s.ffn, s.mlp_bias, S::kColumn));
    out.push_back(linear(p + "mlp.down_proj", "mlp", s.ffn, s.hidden, s.mlp_bias, S::kRow));
  }
  return out;
}

std::vector<ModuleParams> modules_of(const ModelSpec& s) {
  bool gpt2 = s.family == ModelFamily::kGpt2;
  std::vector<ModuleParams> out;
  out.push_back(table(gpt2 ? "transformer.wte" : "model.embed_tokens", "embeddings", s.vocab, s.hidden, S::kVocab));
  if (s.position == PositionEncoding::kLearned) {
    out.push_back(table("transformer.wpe", "positional", s.max_seq, s.hidden, S::kReplicated));
  }
  for (auto m : gpt2 ? gpt2_layer(s) : llama_layer(s)) {
    m.per_layer = true;
    m.instances = m.group == "experts" ? s.layers * s.num_experts : s.layers;
    out.push_back(std::move(m));
  }
  out.push_back(norm(gpt2 ? "transformer.ln_f" : "model.norm", "final_norm", s));
  if (!s.tied_embeddings) out.push_back(table("lm_head", "lm_head", s.vocab, s.hidden, S::kVocab));
  return out;
}

// Parameters of `m` on one tp rank.
std::int64_t sharded(const ModuleParams& m, int tp) {
  auto split = [tp](std::int64_t n) { return (n + tp - 1) / tp; };
  switch (m.sharding) {
    case S::kReplicated: return m.per_instance();
    case S::kColumn:
    case S::kVocab: return split(m.weight) + split(m.bias);
    case S::kRow: return split(m.weight) + m.bias;
  }
  return m.per_instance();
}

}  // namespace

std::int64_t ParamCount::group_total(std::string_view group) const {
  std::int64_t sum = 0;
  for (const auto& m : modules) {
    if (m.group == group) sum += m.total();
  }
  return sum;
}

ParamCount count_params(const ModelSpec& spec) {
  ParamCount c;
  c.modules = modules_of(spec);
  c.tied_embeddings = spec.tied_embeddings;
  std::int64_t idle_experts = 0;
  for (const auto& m : c.modules) {
    c.total += m.total();
    c.largest_module = std::max(c.largest_module, m.per_instance());
    if (m.per_layer) c.per_layer += m.total() / spec.layers;
    if (m.group == "experts") idle_experts += m.per_instance() * spec.layers * (spec.num_experts - spec.experts_per_token);
  }
  c.active_per_token = c.total - idle_experts;
  return c;
}

std::int64_t params_per_rank(const ParamCount& count, std::int64_t layers, int tp, int pp) {
  std::int64_t layers_per_stage = (layers + pp - 1) / pp;
  std::int64_t block = 0, first = 0, last = 0;
  std::int64_t embedding = 0;
  for (const auto& m : count.modules) {
    std::int64_t per_rank = sharded(m, tp);
    if (m.per_layer) {
      block += per_rank * (m.instances / layers);
    } else if (m.group == "embeddings" || m.group == "positional") {
      first += per_rank;
      if (m.group == "embeddings") embedding = per_rank;
    } else {
      last += per_rank;
    }
  }
  if (pp == 1) return first + last + block * layers;
  // Megatron-LM keeps a copy of a tied word embedding on the last stage for the output layer.
  if (count.tied_embeddings) last += embedding;
  return std::max(first, last) + block * layers_per_stage;
}

std::int64_t small_tensor_params(const ParamCount& count, std::int64_t threshold) {
  std::int64_t sum = 0;
  for (const auto& m : count.modules) {
    if (m.weight <= threshold) sum += m.weight * m.instances;
    if (m.bias > 0 && m.bias <= threshold) sum += m.bias * m.instances;
  }
  return sum;
}

PersistentParams persistent_params(const ParamCount& count, std::int64_t threshold) {
  PersistentParams out;
  std::int64_t in_blocks = 0, all_blocks = 0;
  for (const auto& m : count.modules) {
    std::int64_t small = 0;
    if (m.weight <= threshold) small += m.weight * m.instances;
    if (m.bias > 0 && m.bias <= threshold) small += m.bias * m.instances;
    if (m.per_layer) {
      in_blocks += small;
      all_blocks += m.total();
    } else {
      out.other += small;
    }
  }
  // The blocks are alike: one block's share is the blocks' total over the number of blocks.
  if (all_blocks > 0 && count.per_layer > 0) {
    out.per_layer = std::llround(static_cast<double>(in_blocks) * static_cast<double>(count.per_layer) /
                                 static_cast<double>(all_blocks));
  }
  return out;
}

}  // namespace ds::estimators
