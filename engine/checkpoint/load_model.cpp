#include "engine/checkpoint/load_model.hpp"

#include <map>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/suggest.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/detail/layout.hpp"
#include "engine/checkpoint/export_hf.hpp"
#include "engine/checkpoint/param_states.hpp"
#include "engine/io/safetensors.hpp"
#include "estimators/hf_config.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHfConfig = "config.json";
constexpr const char* kExpected =
    "a ds checkpoint directory (DIR with 'latest', or DIR/<tag>) or a Hugging Face model directory "
    "(config.json with model.safetensors or model.safetensors.index.json)";

/// What `path` turned out to be.
struct Source {
  ModelSource kind = ModelSource::kHuggingFace;
  fs::path dir;      ///< the checkpoint DIR, or the Hugging Face model directory
  std::string tag;   ///< checkpoints: "" = latest
  fs::path weights;  ///< Hugging Face: the .safetensors or index file
};

std::string shape_string(torch::IntArrayRef sizes) {
  std::ostringstream os;
  os << sizes;
  return os.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

fs::path hf_weights_in(const fs::path& dir) {
  if (fs::exists(dir / io::kIndexFileName)) return dir / io::kIndexFileName;
  if (fs::exists(dir / "model.safetensors")) return dir / "model.safetensors";
  throw UsageError(format_error(dir.string(), "no weights beside config.json", "",
                                "model.safetensors or model.safetensors.index.json",
                                "only safetensors are read; convert pytorch_model.bin with transformers' "
                                "save_pretrained(safe_serialization=True)"));
}

Source resolve_file(const fs::path& path) {
  const std::string name = path.filename().string();
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (name == kHfConfig) return {ModelSource::kHuggingFace, dir, "", hf_weights_in(dir)};
  if (ends_with(name, ".safetensors") || name == io::kIndexFileName) {
    return {ModelSource::kHuggingFace, dir, "", path};
  }
  throw UsageError(format_error(path.string(), "not a model file", "", kExpected));
}

Source resolve(const fs::path& path, const std::string& tag) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UsageError(format_error(path.string(), "no such file or directory", "", kExpected));
  if (!fs::is_directory(path)) return resolve_file(path);
  if (fs::exists(path / detail::kMetadataFile)) {  // one checkpoint: DIR/<tag>
    fs::path p = fs::absolute(path).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    std::string own = p.filename().string();
    if (!tag.empty() && tag != own) {
      throw UsageError(format_error(path.string(), "is checkpoint '" + own + "', not the tag asked for", tag, own,
                                    "pass the checkpoint directory above it to choose a tag"));
    }
    return {ModelSource::kDsCheckpoint, p.parent_path(), own, {}};
  }
  if (fs::exists(path / detail::kLatestFile) || !list_checkpoints(path).empty()) {
    return {ModelSource::kDsCheckpoint, path, tag, {}};
  }
  if (fs::exists(path / kHfConfig)) return {ModelSource::kHuggingFace, path, "", hf_weights_in(path)};
  throw UsageError(format_error(path.string(), "not a ds checkpoint or a Hugging Face model directory", "",
                                kExpected));
}

// Buffers Hugging Face files carry that are not parameters here: GPT-2's causal masks and old
// Llama files' rotary frequencies (ds recomputes both).
bool known_buffer(const std::string& name) {
  return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias") ||
         ends_with(name, ".rotary_emb.inv_freq");
}

/// Copies every parameter of `model` from `tensors` (converting dtype and device). Missing or
/// mis-shaped tensors are UsageErrors naming `where`; tensors the model has no use for are
/// errors too when `strict`, otherwise a warning.
void copy_weights(model::CausalLM& model, const std::map<std::string, torch::Tensor>& tensors,
                  const std::string& where, bool strict) {
  torch::NoGradGuard no_grad;
  // GPT-2 files saved from GPT2Model (as the original "gpt2" on the Hub) lack the prefix.
  const std::string prefix = model.spec().family == estimators::ModelFamily::kGpt2 ? "transformer." : "model.";
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) names.push_back(name);
  std::set<std::string> used;
  for (auto& param : model.named_parameters()) {
    const std::string& name = param.key();
    auto it = tensors.find(name);
    if (it == tensors.end() && name.rfind(prefix, 0) == 0) it = tensors.find(name.substr(prefix.size()));
    if (it == tensors.end()) {
      throw UsageError(format_error(where, "missing tensor '" + name + "'", "", "every parameter of the model config.json describes") +
                       did_you_mean(name, names));
    }
    const torch::Tensor& src = it->second;
    if (src.sizes() != param.value().sizes() || !src.is_floating_point()) {
      throw UsageError(format_error(where, "tensor '" + it->first + "' does not fit the model",
                                    shape_string(src.sizes()) + " " + c10::toString(src.scalar_type()),
                                    shape_string(param.value().sizes()) + " floating point",
                                    "the config does not describe these weights"));
    }
    param.value().copy_(src);
    used.insert(it->first);
  }
  std::vector<std::string> unused;
  for (const auto& name : names) {
    const bool tied_head = model.spec().tied_embeddings && name == "lm_head.weight";
    if (!used.count(name) && !tied_head && !known_buffer(name)) unused.push_back(name);
  }
  if (unused.empty()) return;
  std::string list = "'" + unused.front() + "'" + (unused.size() > 1 ? " and " + std::to_string(unused.size() - 1) + " more" : "");
  if (strict) {
    throw UsageError(format_error(where, "holds tensors the model does not have", list, "exactly the model's parameters",
                                  "the checkpoint's model_config.json does not describe its weights"));
  }
  log::warn(where, ": ignoring ", unused.size(), " tensor(s) the model does not use: ", list);
}

std::shared_ptr<model::CausalLM> empty_model(const estimators::ModelSpec& spec, const LoadModelOptions& options) {
  model::ModelOptions mo;
  mo.dtype = options.dtype;
  mo.device = options.device;
  mo.attention = options.attention;
  // Uninitialised weights (no seeded init: every value is about to be overwritten).
  auto m = std::make_shared<model::CausalLM>(spec, mo);
  m->to(options.device, options.dtype);
  m->eval();
  return m;
}

LoadedModel load_ds_checkpoint(const Source& src, const LoadModelOptions& options) {
  CheckpointState state = load_checkpoint(src.dir, {.tag = src.tag});
  const fs::path ckpt = src.dir / state.metadata.tag;
  const fs::path config_file = ckpt / detail::kModelConfigFile;
  if (!state.model_config.is_object()) {
    throw UsageError(format_error(config_file.string(), "missing", "", "the model's Hugging Face config",
                                  "this checkpoint does not say which model it holds; it was saved without --model"));
  }
  LoadedModel out;
  out.spec = estimators::model_spec_from_hf_config(state.model_config, config_file.string());
  out.source = ModelSource::kDsCheckpoint;
  out.weights = ckpt;
  out.tag = state.metadata.tag;
  out.step = state.metadata.step;
  CheckpointWeights weights = checkpoint_weights(state, ParamStates::open(ckpt, state));
  out.from_fp32_master = weights.from_fp32_master;
  out.model = empty_model(out.spec, options);
  std::map<std::string, torch::Tensor> by_name(weights.tensors.begin(), weights.tensors.end());
  copy_weights(*out.model, by_name, (ckpt / detail::kModelFile).string(), /*strict=*/true);
  return out;
}

LoadedModel load_hf(const Source& src, const LoadModelOptions& options) {
  const fs::path config_file = src.dir / kHfConfig;
  if (!fs::exists(config_file)) {
    throw UsageError(format_error(config_file.string(), "missing", "", "a Hugging Face config.json beside the weights"));
  }
  LoadedModel out;
  out.spec = estimators::model_spec_from_hf_file(config_file.string());
  out.source = ModelSource::kHuggingFace;
  out.weights = src.weights;
  io::SafetensorsReader reader(src.weights);
  out.model = empty_model(out.spec, options);
  copy_weights(*out.model, reader.tensors(), src.weights.string(), /*strict=*/false);
  return out;
}

}  // namespace

LoadedModel load_model(const fs::path& path, const LoadModelOptions& options) {
  if (!c10::isFloatingType(options.dtype)) {
    throw UsageError(format_error("model dtype", "not a floating-point type", c10::toString(options.dtype),
                                  "fp32, bf16 or fp16"));
  }
  Source src = resolve(path, options.tag);
  if (src.kind == ModelSource::kHuggingFace && !options.tag.empty()) {
    throw UsageError(format_error(path.string(), "a tag was given for a Hugging Face model directory",
                                  options.tag, "no tag", "tags name ds training checkpoints"));
  }
  return src.kind == ModelSource::kDsCheckpoint ? load_ds_checkpoint(src, options) : load_hf(src, options);
}

}  // namespace ds::engine::checkpoint
