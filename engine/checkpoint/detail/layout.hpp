#pragma once
// File names and small helpers shared by checkpoint save and load (not a public header).
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace ds::engine::checkpoint::detail {

inline constexpr const char* kLatestFile = "latest";
inline constexpr const char* kMetadataFile = "metadata.json";
inline constexpr const char* kModelFile = "model.safetensors";
inline constexpr const char* kOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kTrainerStateFile = "trainer_state.json";
inline constexpr const char* kRngFile = "rng.safetensors";
inline constexpr const char* kConfigFile = "ds_config.json";
inline constexpr const char* kModelConfigFile = "model_config.json";
/// Prefix of in-progress (or abandoned) save directories: ".tmp-<tag>-<pid>".
inline constexpr const char* kTempPrefix = ".tmp-";

/// Throws UsageError unless `tag` is a plain directory name (`where` names its source).
void check_tag(const std::string& tag, const std::string& where);

/// Parses a JSON file; UsageError naming it when it is missing or malformed.
nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& missing_hint);

}  // namespace ds::engine::checkpoint::detail
