#pragma once
// `ds checkpoint export --hf OUT`: a training checkpoint -> a Hugging Face model directory
// (model.safetensors or shards + index, config.json), the equivalent of DeepSpeed's
// zero_to_fp32.py: weights come from the fp32 master copy when the run kept one (bf16/fp16),
// so nothing is lost to the model dtype's rounding.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ds::engine::checkpoint {

struct CheckpointState;
class ParamStates;

struct ExportOptions {
  std::string tag;                              ///< "" = the tag in DIR/latest
  torch::ScalarType dtype = torch::kFloat;      ///< floating-point weights are written in this dtype
  std::uint64_t max_shard_bytes = 5'000'000'000;  ///< above this, shards + model.safetensors.index.json
  nlohmann::json model_config;                  ///< HF config.json to write; null = the checkpoint's model_config.json
};

struct ExportResult {
  std::string tag;                              ///< the checkpoint exported
  std::int64_t step = 0;
  std::vector<std::filesystem::path> files;     ///< weights files (index last), then config.json
  std::int64_t tensors = 0;
  std::int64_t parameters = 0;                  ///< total elements written
  bool from_fp32_master = false;                ///< weights reconstructed from the optimizer's fp32 masters
};

/// A loaded checkpoint's weights by Hugging Face name, in the model state's order.
struct CheckpointWeights {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  bool from_fp32_master = false;                ///< rebuilt from the optimizer's fp32 masters
};

/// The weights of `state` (loaded with its optimizer states): the fp32 masters in `states`
/// (ParamStates::open of the same checkpoint, stage-0 flat or ZeRO fragments) when the run kept
/// them, otherwise the model state as saved. Throws UsageError naming the checkpoint when a
/// master has another shape than its weight, RuntimeError when fragments do not cover a master.
CheckpointWeights checkpoint_weights(const CheckpointState& state, const ParamStates& states);
/// The same for a stage-0 (flat) checkpoint; `where` names its trainer_state.json in errors.
/// UsageError for a ZeRO checkpoint, whose masters are in shard files: use the overload above.
CheckpointWeights checkpoint_weights(const CheckpointState& state, const std::string& where);

/// Exports checkpoint `options.tag` of `checkpoint_dir` into `out_dir` (created). Throws
/// UsageError when the checkpoint is missing/corrupt or has no model config and none is given.
ExportResult export_hf(const std::filesystem::path& checkpoint_dir, const std::filesystem::path& out_dir,
                       const ExportOptions& options = {});

/// "float32" / "bfloat16" / "float16" (config.json's torch_dtype); UsageError for other dtypes.
std::string hf_dtype_name(torch::ScalarType dtype);

}  // namespace ds::engine::checkpoint
