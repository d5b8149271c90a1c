#include "estimators/model_spec.hpp"

#include <cmath>
#include <filesystem>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "common/units.hpp"
#include "estimators/hf_config.hpp"
#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

void require(bool ok, const std::string& source, const std::string& what) {
  if (!ok) throw ConfigError(format_error(source, what));
}

// Rough models are Llama-shaped: MHA with head_dim 128, SwiGLU MLP, untied 32000-token vocab.
constexpr std::int64_t kRoughVocab = 32000;
constexpr std::int64_t kRoughHeadDim = 128;
constexpr double kRoughWidthPerLayer = 128.0;  // Llama-2-7B: 4096 / 32; 13B: 5120 / 40

std::int64_t round_up(double value, std::int64_t multiple) {
  return static_cast<std::int64_t>(std::ceil(value / static_cast<double>(multiple))) * multiple;
}

// Parameters of one Llama-style block: q, k, v, o (4h^2), gate/up/down (3 h ffn), two RMSNorms.
double rough_layer_params(std::int64_t hidden, std::int64_t ffn) {
  double h = static_cast<double>(hidden);
  return 4 * h * h + 3 * h * static_cast<double>(ffn) + 2 * h;
}

// Embedding + lm_head (untied) + final norm.
double rough_outer_params(std::int64_t hidden) {
  return 2.0 * kRoughVocab * static_cast<double>(hidden) + static_cast<double>(hidden);
}

std::int64_t rough_ffn(std::int64_t hidden) { return round_up(8.0 * static_cast<double>(hidden) / 3.0, 256); }

std::int64_t rough_layers(double params, std::int64_t hidden, std::int64_t ffn) {
  return std::llround((params - rough_outer_params(hidden)) / rough_layer_params(hidden, ffn));
}

// Width for a given depth: solve 12 L h^2 + 2 V h = params for h, round to the head width.
std::int64_t rough_hidden_for_layers(double params, std::int64_t layers) {
  double l = static_cast<double>(layers);
  double v = static_cast<double>(kRoughVocab);
  double h = (-2 * v + std::sqrt(4 * v * v + 48 * l * params)) / (24 * l);
  return std::max<std::int64_t>(kRoughHeadDim, std::llround(h / kRoughHeadDim) * kRoughHeadDim);
}

// Neither given: the width (a multiple of 128) whose depth keeps hidden/layers closest to 128.
std::int64_t rough_hidden_by_aspect(double params) {
  std::int64_t best = kRoughHeadDim;
  double best_score = INFINITY;
  for (std::int64_t h = kRoughHeadDim; h <= 65536; h += kRoughHeadDim) {
    std::int64_t l = rough_layers(params, h, rough_ffn(h));
    if (l < 1) break;
    double score = std::fabs(std::log(static_cast<double>(h) / static_cast<double>(l) / kRoughWidthPerLayer));
    if (score < best_score) {
      best_score = score;
      best = h;
    }
  }
  return best;
}

}  // namespace

std::string_view family_name(ModelFamily family) {
  switch (family) {
    case ModelFamily::kGpt2: return "gpt2";
    case ModelFamily::kLlama: return "llama";
    case ModelFamily::kMistral: return "mistral";
    case ModelFamily::kQwen2: return "qwen2";
    case ModelFamily::kMixtral: return "mixtral";
  }
  return "unknown";
}

const std::vector<ModelFamily>& all_families() {
  static const std::vector<ModelFamily> families = {ModelFamily::kGpt2, ModelFamily::kLlama, ModelFamily::kMistral,
                                                    ModelFamily::kQwen2, ModelFamily::kMixtral};
  return families;
}

void check_model_spec(const ModelSpec& s, const std::string& source) {
  require(s.layers > 0 && s.hidden > 0 && s.heads > 0 && s.kv_heads > 0 && s.head_dim > 0 && s.ffn > 0 &&
              s.vocab > 0 && s.max_seq > 0,
          source, "every size of the model must be positive");
  require(s.heads % s.kv_heads == 0, source,
          "num_attention_heads (" + std::to_string(s.heads) + ") is not a multiple of num_key_value_heads (" +
              std::to_string(s.kv_heads) + ")");
  require(s.experts_per_token <= s.num_experts, source,
          "num_experts_per_tok (" + std::to_string(s.experts_per_token) + ") exceeds num_local_experts (" +
              std::to_string(s.num_experts) + ")");
  require(!s.is_moe() || s.experts_per_token > 0, source, "an MoE model needs num_experts_per_tok > 0");
}

ModelSpec load_model_spec(const std::string& arg, const std::string& what) {
  namespace fs = std::filesystem;
  if (const auto* preset = find_model_preset(arg)) return preset->spec;
  std::error_code ec;
  fs::path path(arg);
  if (fs::is_directory(path, ec)) {
    fs::path config = path / "config.json";
    if (!fs::is_regular_file(config, ec)) {
      throw UsageError(format_error(what, "directory has no config.json", "'" + arg + "'",
                                    "a directory holding a Hugging Face config.json"));
    }
    return model_spec_from_hf_file(config.string());
  }
  if (fs::is_regular_file(path, ec)) return model_spec_from_hf_file(arg);
  if (arg.find('/') != std::string::npos || arg.ends_with(".json")) {
    throw UsageError(format_error(what, "no such file or directory", "'" + arg + "'",
                                  "a preset name, a config.json file or a directory holding one"));
  }
  auto near = nearest(arg, model_preset_names(), 3);
  throw UsageError(format_error(what, "unknown model preset", "'" + arg + "'",
                                "a preset name, a config.json file or a directory holding one",
                                "nearest presets: " + join(near, ", ") + "; `ds estimate presets` lists them all"));
}

ModelSpec rough_model_spec(const RoughModelOptions& o) {
  if (!(o.params > 0)) throw UsageError(format_error("--params", "must be positive", std::to_string(o.params)));
  ModelSpec s;
  s.hidden = o.hidden.value_or(0);
  if (s.hidden == 0) s.hidden = o.layers ? rough_hidden_for_layers(o.params, *o.layers) : rough_hidden_by_aspect(o.params);
  s.ffn = rough_ffn(s.hidden);
  s.layers = o.layers.value_or(rough_layers(o.params, s.hidden, s.ffn));
  if (o.layers && o.hidden) {
    // Both fixed: fit the MLP width so the total matches the requested count.
    double per_layer = (o.params - rough_outer_params(s.hidden)) / static_cast<double>(s.layers);
    double h = static_cast<double>(s.hidden);
    s.ffn = std::llround((per_layer - 4 * h * h - 2 * h) / (3 * h));
  }
  if (s.layers < 1 || s.ffn < 1) {
    throw UsageError(format_error("--params", "too small for this shape", format_count(o.params),
                                  "at least the embeddings and one block (" +
                                      format_count(rough_outer_params(s.hidden) + rough_layer_params(s.hidden, 1)) +
                                      " params at hidden " + std::to_string(s.hidden) + ")",
                                  "lower --hidden/--layers or raise --params"));
  }
  s.name = "rough " + format_count(o.params);
  s.family = ModelFamily::kLlama;
  s.head_dim = s.hidden % kRoughHeadDim == 0 ? kRoughHeadDim : s.hidden;
  s.heads = s.kv_heads = s.hidden / s.head_dim;
  s.vocab = kRoughVocab;
  s.max_seq = o.seq.value_or(4096);
  check_model_spec(s, s.name);
  return s;
}

}  // namespace ds::estimators
