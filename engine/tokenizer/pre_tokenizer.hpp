#pragma once
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace ds::engine::tokenizer {

struct JsonPath;

/// A tokenizer.json pre-tokenizer: cuts normalized text into the words BPE sees (the regex split of
/// GPT-2/Llama 3/Qwen, then the byte-level character map).
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  /// Replaces `pieces` by their finer split. `first_section`: the pieces begin the input (for
  /// Metaspace's prepend_scheme "first").
  virtual void split(std::vector<std::string>& pieces, bool first_section) const = 0;
};

/// The pre-tokenizer described at `at`; nullptr for null. Supported: Split (String or Regex
/// pattern; behaviors Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous; invert),
/// ByteLevel (add_prefix_space, use_regex), Metaspace (replacement, prepend_scheme, split),
/// Digits, Punctuation, Whitespace, WhitespaceSplit and Sequence. Anything else is a UsageError
/// naming the key.
std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const nlohmann::json& value, const JsonPath& at);

}  // namespace ds::engine::tokenizer
