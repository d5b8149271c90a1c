#pragma once
// Command-line overrides of config keys: `ds train --set zero_optimization.stage=2 --set
// optimizer.params.lr=3e-4`, and the named flags (--steps, --lr, ...) that map onto keys. They
// are applied to the JSON form of the config and the result is read again by the ordinary
// reader, so an override is validated exactly like the same key written in the file.
#include <string>
#include <string_view>
#include <vector>

#include "configs/config.hpp"

namespace ds::configs {

/// One `key=value` override. The value is read as JSON when it parses as JSON (numbers,
/// true/false, null, "quoted", [arrays], {objects}), else taken as a plain string, so
/// `ds.model=llama-3-8b` and `bf16.enabled=true` both do what they look like.
struct Override {
  std::string key;    ///< dotted path, e.g. "zero_optimization.offload_optimizer.device"
  std::string value;  ///< the text after '='
};

/// Splits "key=value" (at the first '='). Throws UsageError naming `flag` when there is no '='
/// or the key is empty or has an empty component ("a..b").
Override parse_override(std::string_view text, std::string_view flag = "--set");

/// `config` with each override applied in order (later ones win). The merged config is read
/// again with `source_name` in its error messages (unknown keys get "did you mean"). Throws
/// ConfigError for a bad key or value, UsageError when a key path runs through a non-object
/// value (e.g. "fp16.enabled.x").
Config apply_overrides(const Config& config, const std::vector<Override>& overrides,
                       std::string_view source_name = "--set");

}  // namespace ds::configs
