#pragma once
// A CausalLM ready for inference or evaluation, from what users point at: a ds training
// checkpoint (DIR with `latest`, or DIR/<tag>) or a Hugging Face model directory (config.json
// beside model.safetensors or a sharded model.safetensors.index.json). `ds eval` and the
// serving side use it.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/model/causal_lm.hpp"
#include "estimators/model_spec.hpp"

namespace ds::engine::checkpoint {

struct LoadModelOptions {
  torch::Device device = torch::kCPU;          ///< where the weights go
  torch::ScalarType dtype = torch::kFloat;     ///< the model's dtype; weights are converted to it
  std::string tag;                             ///< ds checkpoints: "" = the tag in DIR/latest (or the DIR/<tag> given)
  model::AttentionImpl attention = model::AttentionImpl::kAuto;
};

enum class ModelSource {
  kDsCheckpoint,  ///< a ds training checkpoint (weights from its fp32 masters when it has them)
  kHuggingFace,   ///< a Hugging Face model directory
};

struct LoadedModel {
  std::shared_ptr<model::CausalLM> model;  ///< in eval mode, on options.device in options.dtype
  estimators::ModelSpec spec;
  ModelSource source = ModelSource::kHuggingFace;
  std::filesystem::path weights;           ///< the checkpoint's DIR/<tag>, or the .safetensors / index file read
  std::string tag;                         ///< ds checkpoints: the tag loaded
  std::int64_t step = 0;                   ///< ds checkpoints: optimizer steps it was saved after
  bool from_fp32_master = false;           ///< ds checkpoints: weights from the fp32 master copy
};

/// Builds the model described by the config found at `path` and copies its weights in.
/// `path` may be: a ds checkpoint directory (with `latest`, or complete tags under it), one
/// checkpoint DIR/<tag>, a Hugging Face model directory, or a file inside one (config.json,
/// model.safetensors, model.safetensors.index.json). Every parameter of the model must be found
/// by its Hugging Face name with its shape (a GPT-2 file without the "transformer." prefix is
/// read too; a tied lm_head comes from the embedding). Throws UsageError naming the path, file
/// or tensor for anything missing or mismatched.
LoadedModel load_model(const std::filesystem::path& path, const LoadModelOptions& options = {});

}  // namespace ds::engine::checkpoint
