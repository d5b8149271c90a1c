#pragma once
// Every key the schema knows, for "did you mean" across sections, docs checks and the every-key
// tests.
#include <string>
#include <vector>

namespace ds::configs::detail {

/// One key of the schema.
struct KeyInfo {
  std::string path;   ///< dotted path, e.g. "zero_optimization.offload_param.device"
  std::string kind;   ///< "bool" | "integer" | "number" | "string" | "enum" | "pair" | "policy" | "section" | "passthrough"
  bool auto_ok = false;
  bool optional = false;  ///< no default value (DeepSpeed None)
};

/// All keys, in schema order, each once (optimizer and scheduler params of every type included).
const std::vector<KeyInfo>& all_keys();

}  // namespace ds::configs::detail
