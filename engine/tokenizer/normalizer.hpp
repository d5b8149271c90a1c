#pragma once
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>

namespace ds::engine::tokenizer {

struct JsonPath;

/// A tokenizer.json normalizer: rewrites the text of each section between added tokens before
/// pre-tokenization (Llama 2 turns spaces into U+2581 here, Qwen applies NFC).
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  /// The normalized `text` (valid UTF-8 in, valid UTF-8 out).
  virtual std::string normalize(std::string text) const = 0;
};

/// The normalizer described at `at` (tokenizer.json's "normalizer"); nullptr for null. Supported:
/// Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD (the Unicode forms through ICU). Anything else
/// is a UsageError naming the key.
std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& value, const JsonPath& at);

}  // namespace ds::engine::tokenizer
