#pragma once
// ModelSpec -> Hugging Face config.json, the inverse of estimators/hf_config.hpp's reader, for
// checkpoints and `ds checkpoint export --hf`.
#include <string>

#include <nlohmann/json.hpp>

#include "estimators/model_spec.hpp"

namespace ds::engine::io {

/// The config.json transformers needs to load the model: model_type, architectures and the size
/// keys of GPT2Config / LlamaConfig / MistralConfig / Qwen2Config / MixtralConfig, such that
/// estimators::model_spec_from_hf_config reads the same ModelSpec back. `torch_dtype` is the
/// weights' dtype ("float32", "bfloat16", "float16").
nlohmann::json hf_config_json(const estimators::ModelSpec& spec, const std::string& torch_dtype = "float32");

}  // namespace ds::engine::io
