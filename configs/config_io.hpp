#pragma once
// Reading and writing Config: DeepSpeed JSON (nlohmann-json) and TOML (toml++, same key names,
// tables for sections). Readers validate every key and value (configs/validation.hpp) and throw
// ds::ConfigError (exit 2) with a located message; writers emit what the user wrote.
#include <filesystem>
#include <string>
#include <string_view>

#include "configs/config.hpp"

namespace ds::configs {

/// Parses DeepSpeed JSON text (comments allowed, like DeepSpeed's hjson loader; duplicate keys
/// rejected like its dict_raise_error_on_duplicate_keys). `source_name` prefixes error messages
/// ("ds_config.json: zero_optimization.stage: ..."). Throws ConfigError.
Config parse_config_json(std::string_view text, std::string_view source_name = "config");

/// Parses the same config written as TOML. Errors are located as "<source>:<line>: ...".
Config parse_config_toml(std::string_view text, std::string_view source_name = "config");

/// Reads a file, choosing the format by extension (.json, .toml). Throws ConfigError for an
/// unknown extension and UsageError when the file cannot be read.
Config load_config(const std::filesystem::path& path);

/// How the writers render a Config.
struct WriteOptions {
  /// false: only the keys the input set (and "auto" as "auto"): the user's config, losslessly.
  /// true: every key with its current value (defaults included); use on a resolved config.
  bool all_keys = false;
  int indent = 2;  ///< JSON indentation (spaces)
};

/// DeepSpeed JSON text (ends with a newline).
std::string to_json(const Config& config, const WriteOptions& options = {});

/// TOML text with the same key names; sections become tables.
std::string to_toml(const Config& config, const WriteOptions& options = {});

/// Writes `config` to `path` atomically (common/atomic_file.hpp), the format chosen by extension.
void save_config(const Config& config, const std::filesystem::path& path, const WriteOptions& options = {});

}  // namespace ds::configs
