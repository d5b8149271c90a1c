#include "engine/checkpoint/export_hf.hpp"

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/param_states.hpp"
#include "engine/io/safetensors.hpp"

namespace ds::engine::checkpoint {

namespace fs = std::filesystem;

CheckpointWeights checkpoint_weights(const CheckpointState& state, const ParamStates& states) {
  CheckpointWeights out;
  out.from_fp32_master = states.has("master");
  for (const auto& [name, t] : state.model) {
    const ParamStates::Param* param = out.from_fp32_master ? states.find(name) : nullptr;
    if (param == nullptr) {
      out.tensors.emplace_back(name, t);  // frozen, tied or fp32 without a master: saved as is
      continue;
    }
    if (param->shape != t.sizes().vec()) {
      throw UsageError(format_error(states.where(), "the fp32 master of '" + name + "' does not have its weight's shape",
                                    c10::str(c10::IntArrayRef(param->shape)), c10::str(t.sizes()),
                                    "the checkpoint's optimizer state belongs to another model"));
    }
    out.tensors.emplace_back(name, states.full("master", name));
  }
  return out;
}

CheckpointWeights checkpoint_weights(const CheckpointState& state, const std::string& where) {
  if (state.optimizer_meta.is_object() && state.optimizer_meta.contains("zero")) {
    throw UsageError(format_error(where, "a ZeRO checkpoint: its fp32 masters are in the per-rank shard files", "", "",
                                  "read it with checkpoint_weights(state, ParamStates::open(DIR/<tag>, state))"));
  }
  fs::path file(where);
  return checkpoint_weights(state, ParamStates::open(file.parent_path(), state));
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
  CheckpointWeights from = checkpoint_weights(state, ParamStates::open(ckpt, state));
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
