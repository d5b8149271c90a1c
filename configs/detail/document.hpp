#pragma once
// Both readers turn their text into one neutral document (an insertion-ordered JSON tree, TOML
// converted) plus the source line of each key where the format has them; read_document then walks
// the schema over it. Keeping one walk means JSON and TOML accept exactly the same configs.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "configs/config.hpp"

namespace ds::configs::detail {

using Document = nlohmann::ordered_json;

/// Where a document came from, for error messages.
struct SourceInfo {
  std::string name;                  ///< file name or "config"
  bool toml = false;                 ///< wording: "table" (TOML) or "object" (JSON)
  std::map<std::string, int> lines;  ///< dotted key path -> 1-based line (TOML only)
};

/// "<name>[:<line>]: <path>" — the "where" of an error about `path`.
std::string where(const SourceInfo& source, const std::string& path);

/// Joins a section path and a key: ("zero_optimization", "stage") -> "zero_optimization.stage".
std::string join_path(const std::string& section, std::string_view key);

/// Rewrites the spellings DeepSpeed still accepts but deprecates ("bfloat16", "cpu_offload",
/// un-prefixed stage3 aliases, ...) to the current keys, logging a warning for each.
void normalize_legacy_keys(Document& doc, SourceInfo& source);

/// Walks the schema over `doc` (a top-level object) and validates the result. Throws ConfigError.
Config read_document(const Document& doc, const SourceInfo& source);

/// A short rendering of a value for "(got ...)" (JSON text, cut at 40 characters).
std::string render_value(const Document& value);

}  // namespace ds::configs::detail
