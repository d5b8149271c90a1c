#pragma once
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ds::engine::tokenizer {

struct JsonPath;
class Normalizer;

/// One entry of tokenizer.json's "added_tokens": text that always becomes one id, matched in the
/// input before pre-tokenization (special ones like <|begin_of_text|> only when asked to).
struct AddedToken {
  std::string content;
  std::uint32_t id = 0;
  bool special = false;      ///< a control token: matched only when special tokens are parsed
  bool lstrip = false;       ///< swallows the whitespace before it
  bool rstrip = false;       ///< swallows the whitespace after it
  bool single_word = false;  ///< matches only between whitespace (or the ends of the text)
  bool normalized = false;   ///< matched in the normalized text rather than the raw input
};

/// A piece of input: plain text, or the added token it is. `text` points into the string that
/// was split, which must outlive it.
struct Section {
  std::string_view text;
  const AddedToken* token = nullptr;  ///< non-null: this section is that added token
};

/// Finds added tokens in text, leftmost first and longest at a position (the Rust crate's rule).
class AddedVocabulary {
 public:
  /// Reads "added_tokens" (an array; null or absent: none). `normalizer` (may be null) puts the
  /// normalized=true contents into the form they take after normalization.
  AddedVocabulary(const nlohmann::json* added_tokens, const JsonPath& at, const Normalizer* normalizer);

  /// Cuts `text` at the tokens matched in raw input (normalized == false), or, with
  /// `normalized_pass`, at those matched after normalization; appends to `out`. `parse_special`
  /// false: special tokens are left as text.
  void split(std::string_view text, bool parse_special, bool normalized_pass, std::vector<Section>& out) const;

  /// The added token with this exact content, or null.
  const AddedToken* find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Node {
    std::vector<std::pair<char, std::int32_t>> children;  ///< sorted by byte
    std::int32_t token = -1;                              ///< index into tokens_ when a token ends here
  };
  struct Trie {
    std::vector<Node> nodes{1};
    std::array<bool, 256> starts{};  ///< bytes some token begins with: the split skips the rest fast
    void insert(std::string_view key, std::int32_t token);
  };
  // The token matched at text[at] (longest allowed), or -1, and its length.
  std::int32_t match_at(const Trie& trie, std::string_view text, std::size_t at, bool parse_special, std::size_t& length) const;

  std::vector<AddedToken> tokens_;
  Trie raw_, normalized_;
};

}  // namespace ds::engine::tokenizer
