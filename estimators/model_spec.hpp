#pragma once
// ModelSpec: the architecture of a decoder-only transformer, enough to count its parameters
// exactly and to size its activations. Built from a Hugging Face config.json, a preset name
// (estimators/presets.hpp) or a raw parameter count (`--params 7e9`).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::estimators {

/// Architecture families ds knows. Each is the Hugging Face `model_type` of the same name.
enum class ModelFamily { kGpt2, kLlama, kMistral, kQwen2, kMixtral };

/// Normalisation layer: GPT-2's LayerNorm (weight + bias) or Llama-style RMSNorm (weight only).
enum class NormType { kLayerNorm, kRmsNorm };

/// MLP activation. kGelu is GPT-2's two-matrix MLP; kSwiGlu is the gated three-matrix MLP
/// (gate_proj, up_proj, down_proj with SiLU) of Llama, Mistral, Qwen2 and Mixtral's experts.
enum class Activation { kGelu, kSwiGlu };

/// How positions enter the model: GPT-2's learned table (wpe) or rotary embeddings (no params).
enum class PositionEncoding { kLearned, kRope };

/// HF `rope_scaling` (Llama 3.1/3.2 use rope_type "llama3"). Empty type: no scaling.
struct RopeScaling {
  std::string type;                               ///< "", "llama3", "linear", "dynamic", "yarn"
  double factor = 1.0;                            ///< context extension factor
  double low_freq_factor = 1.0;                   ///< llama3 only
  double high_freq_factor = 4.0;                  ///< llama3 only
  std::int64_t original_max_position_embeddings = 0;  ///< llama3/yarn: the pre-extension context
};

/// A decoder-only transformer. Sizes are element counts, not bytes.
struct ModelSpec {
  std::string name;                 ///< preset name, config path or "rough-7e9"
  ModelFamily family = ModelFamily::kLlama;
  std::int64_t layers = 0;          ///< transformer blocks (num_hidden_layers / n_layer)
  std::int64_t hidden = 0;          ///< model width (hidden_size / n_embd)
  std::int64_t heads = 0;           ///< query heads (num_attention_heads / n_head)
  std::int64_t kv_heads = 0;        ///< key/value heads (GQA); == heads for multi-head attention
  std::int64_t head_dim = 0;        ///< per-head width; hidden / heads unless the config says otherwise
  std::int64_t ffn = 0;             ///< MLP inner width (intermediate_size / n_inner, 4*hidden for GPT-2)
  std::int64_t vocab = 0;           ///< vocabulary size
  std::int64_t max_seq = 0;         ///< max_position_embeddings / n_positions
  bool tied_embeddings = false;     ///< lm_head shares the input embedding matrix
  bool qkv_bias = false;            ///< bias on q/k/v projections (GPT-2, Qwen2, attention_bias)
  bool attn_out_bias = false;       ///< bias on the attention output projection (GPT-2, attention_bias)
  bool mlp_bias = false;            ///< bias on MLP projections (GPT-2, mlp_bias)
  NormType norm = NormType::kRmsNorm;
  double norm_eps = 1e-5;
  Activation activation = Activation::kSwiGlu;
  PositionEncoding position = PositionEncoding::kRope;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double dropout = 0.0;             ///< GPT-2's resid/attn/embd dropout probability (0 for the others)
  std::int64_t sliding_window = 0;  ///< Mistral's attention window, 0 = full attention
  std::int64_t num_experts = 0;     ///< MoE experts per layer (num_local_experts), 0 = dense MLP
  std::int64_t experts_per_token = 0;  ///< experts each token is routed to (num_experts_per_tok)

  /// Query projection width: heads * head_dim.
  std::int64_t q_dim() const { return heads * head_dim; }
  /// Key (and value) projection width: kv_heads * head_dim.
  std::int64_t kv_dim() const { return kv_heads * head_dim; }
  bool is_moe() const { return num_experts > 0; }
};

/// "gpt2", "llama", "mistral", "qwen2", "mixtral" (the HF model_type).
std::string_view family_name(ModelFamily family);

/// The families in the order error messages list them.
const std::vector<ModelFamily>& all_families();

/// Throws ConfigError (prefixed by `source`) when the sizes cannot describe a model: a
/// non-positive size, heads not a multiple of kv_heads, experts_per_token > num_experts.
void check_model_spec(const ModelSpec& spec, const std::string& source);

/// Resolves `--model`: a preset name, a config.json path or a directory holding config.json.
/// `what` names the flag in errors ("--model"). Unknown presets list the nearest preset names.
ModelSpec load_model_spec(const std::string& arg, const std::string& what = "--model");

/// Options for a rough model from a parameter count alone.
struct RoughModelOptions {
  double params = 0;                  ///< target total parameter count, e.g. 7e9
  std::optional<std::int64_t> layers;  ///< fix the depth; otherwise chosen from params
  std::optional<std::int64_t> hidden;  ///< fix the width; otherwise chosen from params
  std::optional<std::int64_t> seq;     ///< max sequence length (default 4096)
};

/// A Llama-style dense model whose parameter count is close to `params`: width/depth ratio 128
/// (Llama-2-7B/13B), head_dim 128, vocab 32000, MLP 8/3*hidden rounded to 256 (or fitted to the
/// count when both layers and hidden are given). Throws UsageError for counts it cannot reach.
ModelSpec rough_model_spec(const RoughModelOptions& options);

}  // namespace ds::estimators
