#pragma once
// Reading a Hugging Face config.json into a ModelSpec (gpt2, llama, mistral, qwen2, mixtral).
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "estimators/model_spec.hpp"

namespace ds::estimators {

/// Reads a parsed Hugging Face config.json. `source` names the file in errors. Missing or
/// mistyped keys -> ConfigError naming the key; an unsupported model_type -> ConfigError naming
/// it and listing the supported families.
ModelSpec model_spec_from_hf_config(const nlohmann::json& config, const std::string& source);

/// Reads and parses a config.json file (ConfigError on invalid JSON, UsageError when unreadable).
ModelSpec model_spec_from_hf_file(const std::string& path);

}  // namespace ds::estimators
