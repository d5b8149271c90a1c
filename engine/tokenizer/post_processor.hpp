#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <vector>

namespace ds::engine::tokenizer {

struct JsonPath;

/// What tokenizer.json's "post_processor" adds around the ids of one text (Llama 2's <s>; a
/// ByteLevel post-processor adds nothing to ids).
struct PostProcessor {
  std::vector<std::uint32_t> prefix;  ///< ids before the text, e.g. BOS
  std::vector<std::uint32_t> suffix;  ///< ids after it
};

/// Reads the post-processor at `at` (null: nothing added). Supported: TemplateProcessing (its
/// "single" template), RobertaProcessing and BertProcessing (cls, text, sep), ByteLevel, and
/// Sequence of those. Anything else is a UsageError naming the key.
PostProcessor parse_post_processor(const nlohmann::json& value, const JsonPath& at);

}  // namespace ds::engine::tokenizer
