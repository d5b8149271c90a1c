#include "engine/checkpoint/export_hf.hpp"

#include <map>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/io/safetensors.hpp"
#include "engine/train/flat_params.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;

/// Weights rebuilt from "group<g>.master" and the parameter layouts in the optimizer metadata
/// (what zero_to_fp32.py does from DeepSpeed's flat fp32 partitions). Empty without masters.
std::map<std::string, torch::Tensor> weights_from_masters(const CheckpointState& state, const std::string& where) {
  std::map<std::string, torch::Tensor> out;
  std::map<std::string, torch::Tensor> tensors(state.optimizer.begin(), state.optimizer.end());
  const nlohmann::json& layouts = state.optimizer_meta.is_object() && state.optimizer_meta.contains("layouts")
                                      ? state.optimizer_meta["layouts"]
                                      : nlohmann::json();
  if (!layouts.is_array()) return out;
  for (std::size_t g = 0; g < layouts.size(); ++g) {
    auto it = tensors.find("group" + std::to_string(g) + ".master");
    if (it == tensors.end()) return {};
    train::FlatLayout layout = train::FlatLayout::from_json(layouts[g], where);
    if (layout.numel() != it->second.numel()) {
      throw UsageError(format_error(where, "fp32 master of group " + std::to_string(g) + " does not match its layout",
                                    std::to_string(it->second.numel()) + " elements", std::to_string(layout.numel())));
    }
    for (auto& [name, view] : layout.unpack(it->second.reshape({-1}))) out[name] = view;
  }
  return out;
}

}  // namespace

CheckpointWeights checkpoint_weights(const CheckpointState& state, const std::string& where) {
  std::map<std::string, torch::Tensor> masters = weights_from_masters(state, where);
  CheckpointWeights out;
  out.from_fp32_master = !masters.empty();
  for (const auto& [name, t] : state.model) {
    auto it = masters.find(name);
    out.tensors.emplace_back(name, it != masters.end() ? it->second : t);
  }
  return out;
}

std::string hf_dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kHalf: return "float16";
    default:
      throw UsageError(format_error("export dtype", "unsupported", c10::toString(dtype), "fp32, bf16 or fp16"));
  }
}

ExportResult export_hf(const fs::path& checkpoint_dir, const fs::path& out_dir, const ExportOptions& options) {
  std::string dtype_name = hf_dtype_name(options.dtype);
  CheckpointState state = load_checkpoint(checkpoint_dir, {.tag = options.tag});
  const fs::path ckpt = checkpoint_dir / state.metadata.tag;
  nlohmann::json config = options.model_config.is_null() ? state.model_config : options.model_config;
  if (!config.is_object()) {
    throw UsageError(format_error(ckpt.string(), "has no model_config.json", "", "",
                                  "pass the model's config (--model PRESET|config.json) to write config.json"));
  }
  ExportResult result;
  result.tag = state.metadata.tag;
  result.step = state.metadata.step;
  CheckpointWeights from = checkpoint_weights(state, (ckpt / "trainer_state.json").string());
  result.from_fp32_master = from.from_fp32_master;
  std::vector<io::NamedTensor> weights;
  for (auto& [name, t] : from.tensors) {
    torch::Tensor w = t.is_floating_point() ? t.to(options.dtype) : t;
    weights.emplace_back(name, w);
    result.parameters += w.numel();
  }
  result.tensors = static_cast<std::int64_t>(weights.size());
  result.files = io::save_safetensors_sharded(
      out_dir, weights, io::ShardOptions{.max_shard_bytes = options.max_shard_bytes, .metadata = {{"format", "pt"}}});
  config["torch_dtype"] = dtype_name;
  write_file_atomic(out_dir / "config.json", config.dump(2) + "\n");
  result.files.push_back(out_dir / "config.json");
  return result;
}

}  // namespace ds::engine::checkpoint
