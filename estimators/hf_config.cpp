#include "estimators/hf_config.hpp"

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace ds::estimators {
namespace {

using nlohmann::json;

// Typed access to one config.json with errors naming the file and the key
// ("config.json: hidden_size: wrong type (got "big"); expected a positive integer").
class ConfigReader {
 public:
  ConfigReader(const json& config, std::string source, std::string model_type)
      : config_(config), source_(std::move(source)), model_type_(std::move(model_type)) {}

  bool has(const char* key) const { return config_.contains(key) && !config_.at(key).is_null(); }

  std::int64_t positive_int(const char* key) const {
    if (!has(key)) {
      throw ConfigError(format_error(where(key), "required key is missing", "",
                                     "a positive integer for model_type '" + model_type_ + "'"));
    }
    return checked_int(key);
  }

  std::int64_t positive_int_or(const char* key, std::int64_t fallback) const {
    return has(key) ? checked_int(key) : fallback;
  }

  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = config_.at(key);
    if (!v.is_boolean()) throw ConfigError(format_error(where(key), "wrong type", v.dump(), "true or false"));
    return v.get<bool>();
  }

  double number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = config_.at(key);
    if (!v.is_number()) throw ConfigError(format_error(where(key), "wrong type", v.dump(), "a number"));
    return v.get<double>();
  }

  std::string string_or(const char* key, std::string fallback) const {
    if (!has(key)) return fallback;
    const json& v = config_.at(key);
    if (!v.is_string()) throw ConfigError(format_error(where(key), "wrong type", v.dump(), "a string"));
    return v.get<std::string>();
  }

  RopeScaling rope_scaling() const {
    RopeScaling out;
    if (!has("rope_scaling")) return out;
    const json& v = config_.at("rope_scaling");
    if (!v.is_object()) {
      throw ConfigError(format_error(where("rope_scaling"), "wrong type", v.dump(), "an object or null"));
    }
    ConfigReader inner(v, source_ + ": rope_scaling", model_type_);
    const char* type_key = inner.has("rope_type") ? "rope_type" : "type";
    out.type = inner.string_or(type_key, "");
    out.factor = inner.number_or("factor", 1.0);
    out.low_freq_factor = inner.number_or("low_freq_factor", 1.0);
    out.high_freq_factor = inner.number_or("high_freq_factor", 4.0);
    out.original_max_position_embeddings = inner.positive_int_or("original_max_position_embeddings", 0);
    return out;
  }

 private:
  std::string where(const char* key) const { return source_ + ": " + key; }

  std::int64_t checked_int(const char* key) const {
    const json& v = config_.at(key);
    if (!v.is_number_integer()) {
      throw ConfigError(format_error(where(key), "wrong type", v.dump(), "a positive integer"));
    }
    auto value = v.get<std::int64_t>();
    if (value <= 0) throw ConfigError(format_error(where(key), "must be positive", v.dump(), "a positive integer"));
    return value;
  }

  const json& config_;
  std::string source_;
  std::string model_type_;
};

// GPT-2 (transformers GPT2Config): Conv1D projections with biases, LayerNorm, learned positions,
// GELU MLP of n_inner (None = 4 * n_embd), tied lm_head, dropout 0.1 by default.
ModelSpec gpt2_spec(const ConfigReader& r) {
  ModelSpec s;
  s.family = ModelFamily::kGpt2;
  s.layers = r.positive_int("n_layer");
  s.hidden = r.positive_int("n_embd");
  s.heads = r.positive_int("n_head");
  s.kv_heads = s.heads;
  s.head_dim = s.hidden / s.heads;
  s.ffn = r.positive_int_or("n_inner", 4 * s.hidden);
  s.vocab = r.positive_int("vocab_size");
  s.max_seq = r.positive_int_or("n_positions", r.positive_int_or("n_ctx", 1024));
  s.tied_embeddings = r.boolean_or("tie_word_embeddings", true);
  s.qkv_bias = s.attn_out_bias = s.mlp_bias = true;
  s.norm = NormType::kLayerNorm;
  s.norm_eps = r.number_or("layer_norm_epsilon", 1e-5);
  s.activation = Activation::kGelu;
  s.position = PositionEncoding::kLearned;
  s.dropout = r.number_or("resid_pdrop", 0.1);
  return s;
}

// Llama, Mistral, Qwen2 and Mixtral share LlamaConfig's key names; the differences are defaults
// (tie_word_embeddings, biases) and the MoE keys.
ModelSpec llama_like_spec(const ConfigReader& r, ModelFamily family) {
  ModelSpec s;
  s.family = family;
  s.layers = r.positive_int("num_hidden_layers");
  s.hidden = r.positive_int("hidden_size");
  s.heads = r.positive_int("num_attention_heads");
  s.kv_heads = r.positive_int_or("num_key_value_heads", s.heads);
  s.head_dim = r.positive_int_or("head_dim", s.hidden / s.heads);
  s.ffn = r.positive_int("intermediate_size");
  s.vocab = r.positive_int("vocab_size");
  s.max_seq = r.positive_int_or("max_position_embeddings", 2048);
  s.tied_embeddings = r.boolean_or("tie_word_embeddings", false);
  // Qwen2Attention always has q/k/v biases and no o_proj bias; Llama-style configs say so
  // with attention_bias (q, k, v and o) and mlp_bias.
  bool attention_bias = r.boolean_or("attention_bias", false);
  s.qkv_bias = family == ModelFamily::kQwen2 || attention_bias;
  s.attn_out_bias = attention_bias;
  s.mlp_bias = r.boolean_or("mlp_bias", false);
  s.norm = NormType::kRmsNorm;
  s.norm_eps = r.number_or("rms_norm_eps", 1e-6);
  s.activation = Activation::kSwiGlu;
  s.position = PositionEncoding::kRope;
  s.rope_theta = r.number_or("rope_theta", 10000.0);
  s.rope_scaling = r.rope_scaling();
  s.dropout = r.number_or("attention_dropout", 0.0);
  bool sliding = family == ModelFamily::kQwen2 ? r.boolean_or("use_sliding_window", false) : true;
  s.sliding_window = sliding ? r.positive_int_or("sliding_window", 0) : 0;
  if (family == ModelFamily::kMixtral) {
    s.num_experts = r.positive_int_or("num_local_experts", 8);
    s.experts_per_token = r.positive_int_or("num_experts_per_tok", 2);
  }
  return s;
}

std::string supported_families() {
  std::string out;
  for (auto f : all_families()) out += (out.empty() ? "" : ", ") + std::string(family_name(f));
  return out;
}

}  // namespace

ModelSpec model_spec_from_hf_config(const json& config, const std::string& source) {
  if (!config.is_object()) {
    throw ConfigError(format_error(source, "not a Hugging Face config", config.type_name(), "a JSON object"));
  }
  if (!config.contains("model_type") || !config.at("model_type").is_string()) {
    throw ConfigError(format_error(source + ": model_type", "required key is missing", "",
                                   "one of " + supported_families()));
  }
  std::string type = config.at("model_type").get<std::string>();
  ConfigReader reader(config, source, type);
  ModelSpec spec;
  if (type == "gpt2") {
    spec = gpt2_spec(reader);
  } else if (type == "llama") {
    spec = llama_like_spec(reader, ModelFamily::kLlama);
  } else if (type == "mistral") {
    spec = llama_like_spec(reader, ModelFamily::kMistral);
  } else if (type == "qwen2") {
    spec = llama_like_spec(reader, ModelFamily::kQwen2);
  } else if (type == "mixtral") {
    spec = llama_like_spec(reader, ModelFamily::kMixtral);
  } else {
    throw ConfigError(format_error(source, "unsupported model_type", "'" + type + "'", "one of " + supported_families(),
                                   "for another architecture pass --params N with --layers/--hidden for a rough "
                                   "estimate"));
  }
  spec.name = source;
  check_model_spec(spec, source);
  return spec;
}

ModelSpec model_spec_from_hf_file(const std::string& path) {
  std::string text = read_file(path);
  json config = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) {
    throw ConfigError(format_error(path, "not valid JSON", "", "a Hugging Face config.json"));
  }
  return model_spec_from_hf_config(config, path);
}

}  // namespace ds::estimators
