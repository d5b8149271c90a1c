#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ds::engine::tokenizer {

/// A Unicode regular expression for the pre-tokenizers and the Replace normalizer/decoder: PCRE2 in
/// UTF mode with Unicode properties (UCP), so `\p{L}`, `\s` and case-insensitive groups mean what
/// they mean in the Oniguruma patterns tokenizer.json files are written for. JIT-compiled when the
/// platform allows. Thread-safe to use from several threads (match data is per call).
class Regex {
 public:
  /// Compiles `pattern`; throws UsageError naming `where` (file and JSON key) when PCRE2 refuses it.
  Regex(std::string_view pattern, const std::string& where);
  ~Regex();
  Regex(Regex&& other) noexcept;
  Regex& operator=(Regex&&) = delete;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  /// Non-overlapping matches in `text` (valid UTF-8) as [begin, end) byte offsets, left to right.
  /// An empty match is skipped over by one character, as the Rust and JS tokenizers do.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;

 private:
  void* code_ = nullptr;  ///< pcre2_code_8*, owned
};

struct JsonPath;

/// A tokenizer.json "pattern": {"String": "..."} (a literal) or {"Regex": "..."}, as the Split
/// pre-tokenizer and the Replace normalizer and decoder use it.
class Pattern {
 public:
  /// Reads the pattern object at `at`; UsageError naming the key when it is neither form.
  static Pattern parse(const nlohmann::json& value, const JsonPath& at);
  /// Reads the pattern object `obj[name]`; UsageError when it is missing.
  static Pattern field(const nlohmann::json& obj, const char* name, const JsonPath& at);

  /// Non-overlapping matches as [begin, end) byte offsets, left to right.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;
  /// `text` with every match replaced by `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;           ///< the String form (non-empty), when regex_ is null
  std::shared_ptr<Regex> regex_;  ///< the Regex form
};

}  // namespace ds::engine::tokenizer
