#include "engine/tokenizer/pre_tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/tokenizer/byte_level.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/regex.hpp"

namespace ds::engine::tokenizer {
namespace {

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Segment {
  std::size_t begin, end;
  bool is_match;
};

// Cuts `text` at the matches of `pattern`, keeping delimiters per `behavior` (the Rust crate's
// SplitDelimiterBehavior), appending the non-empty pieces to `out`.
void split_on(const std::string& text, const Pattern& pattern, Behavior behavior, bool invert,
              std::vector<std::string>& out) {
  std::vector<Segment> segments;
  std::size_t last = 0;
  for (const auto& [begin, end] : pattern.find_all(text)) {
    if (begin > last) segments.push_back({last, begin, invert});
    segments.push_back({begin, end, !invert});
    last = end;
  }
  if (last < text.size()) segments.push_back({last, text.size(), invert});

  std::vector<std::pair<std::size_t, std::size_t>> pieces;
  bool previous_match = true;  // whether the previous segment was a delimiter (none yet: nothing to merge with)
  for (const Segment& s : segments) {
    // A delimiter merges with one neighbouring word at most: "a-b--c" -> "a-", "b-", "-", "c"
    // (MergedWithPrevious) or "a", "-b", "-", "-c" (MergedWithNext); Contiguous joins runs of delimiters.
    bool merge = false;
    switch (behavior) {
      case Behavior::kRemoved:
        if (s.is_match) continue;
        break;
      case Behavior::kIsolated:
        break;
      case Behavior::kMergedWithPrevious:
        merge = s.is_match && !previous_match;
        break;
      case Behavior::kMergedWithNext:
        merge = !s.is_match && previous_match;
        break;
      case Behavior::kContiguous:
        merge = s.is_match && previous_match;
        break;
    }
    if (merge && !pieces.empty()) pieces.back().second = s.end;
    else pieces.emplace_back(s.begin, s.end);
    previous_match = s.is_match;
  }
  for (const auto& [begin, end] : pieces) {
    if (end > begin) out.emplace_back(text, begin, end - begin);
  }
}

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void split(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size() * 4);
    for (const auto& piece : pieces) split_on(piece, pattern_, behavior_, invert_, out);
    pieces = std::move(out);
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's word split, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<Pattern> words)
      : add_prefix_space_(add_prefix_space), words_(std::move(words)) {}
  void split(std::vector<std::string>& pieces, bool) const override {
    if (add_prefix_space_) {
      for (auto& piece : pieces) {
        if (piece.empty() || piece.front() != ' ') piece.insert(piece.begin(), ' ');
      }
    }
    if (words_) {
      std::vector<std::string> words;
      words.reserve(pieces.size() * 4);
      for (const auto& piece : pieces) split_on(piece, *words_, Behavior::kIsolated, false, words);
      pieces = std::move(words);
    }
    std::string mapped;
    for (auto& piece : pieces) {
      mapped.clear();
      byte_level_encode(piece, mapped);
      piece.assign(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<Pattern> words_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split, Pattern on)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split), on_(std::move(on)) {}
  void split(std::vector<std::string>& pieces, bool first_section) const override {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      std::string text;
      for (char c : pieces[i]) {
        if (c == ' ') text += replacement_;
        else text.push_back(c);
      }
      const bool prepend = scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && first_section && i == 0);
      if (prepend && text.compare(0, replacement_.size(), replacement_) != 0) text.insert(0, replacement_);
      if (split_) split_on(text, on_, Behavior::kMergedWithNext, false, out);
      else if (!text.empty()) out.push_back(std::move(text));
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
  Pattern on_;  ///< the replacement as a literal pattern
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(std::vector<std::string>& pieces, bool first_section) const override {
    for (const auto& step : steps_) step->split(pieces, first_section);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

Behavior parse_behavior(const nlohmann::json& value, const JsonPath& at) {
  const std::string name = string_field(value, "behavior", at, "Isolated");
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  throw_unsupported(at.child("behavior"), "split behavior", name,
                    {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"});
}

std::unique_ptr<PreTokenizer> parse_metaspace(const nlohmann::json& value, const JsonPath& at) {
  const std::string replacement = string_field(value, "replacement", at, "\xE2\x96\x81");
  if (replacement.empty()) throw UsageError(format_error(at.child("replacement").where(), "empty", "", "one character"));
  // Older files say add_prefix_space (true = always) instead of prepend_scheme.
  PrependScheme scheme = bool_field(value, "add_prefix_space", at, true) ? PrependScheme::kAlways : PrependScheme::kNever;
  if (find_field(value, "prepend_scheme") != nullptr) {
    const std::string name = string_field(value, "prepend_scheme", at, "always");
    if (name == "always") scheme = PrependScheme::kAlways;
    else if (name == "first") scheme = PrependScheme::kFirst;
    else if (name == "never") scheme = PrependScheme::kNever;
    else throw_unsupported(at.child("prepend_scheme"), "prepend scheme", name, {"always", "first", "never"});
  }
  const Pattern on = Pattern::parse(nlohmann::json{{"String", replacement}}, at.child("replacement"));
  return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, bool_field(value, "split", at, true), on);
}

// The fixed-rule pre-tokenizers, written as the Split they amount to (the Rust crate's
// definitions: char::is_numeric, Unicode P plus ASCII punctuation, char::is_whitespace, and
// Oniguruma's \w = letters, marks, decimal digits, connector punctuation).
std::unique_ptr<PreTokenizer> rule_split(const std::string& regex, Behavior behavior, bool invert, const JsonPath& at) {
  return std::make_unique<SplitPreTokenizer>(Pattern::parse(nlohmann::json{{"Regex", regex}}, at), behavior, invert);
}

std::unique_ptr<PreTokenizer> parse_rule(const std::string& type, const nlohmann::json& value, const JsonPath& at) {
  if (type == "Digits") {
    return rule_split(R"(\p{N})", bool_field(value, "individual_digits", at, false) ? Behavior::kIsolated : Behavior::kContiguous,
                      false, at);
  }
  if (type == "Punctuation") {
    return rule_split(R"([\p{P}\x{21}-\x{2F}\x{3A}-\x{40}\x{5B}-\x{60}\x{7B}-\x{7E}])", parse_behavior(value, at), false, at);
  }
  if (type == "WhitespaceSplit") return rule_split(R"(\s)", Behavior::kRemoved, false, at);
  if (type == "Whitespace") {
    return rule_split(R"([\p{L}\p{M}\p{Nd}\p{Pc}]+|[^\p{L}\p{M}\p{Nd}\p{Pc}\s]+)", Behavior::kRemoved, true, at);
  }
  return nullptr;
}

const std::vector<std::string> kSupported = {"ByteLevel", "Digits",     "Metaspace",      "Punctuation",
                                             "Sequence",  "Split",      "Whitespace",     "WhitespaceSplit"};

}  // namespace

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const nlohmann::json& value, const JsonPath& at) {
  if (value.is_null()) return nullptr;
  require_object(value, at);
  const std::string type = required_string(value, "type", at);
  if (type == "Sequence") {
    return std::make_unique<SequencePreTokenizer>(parse_steps<PreTokenizer>(value, "pretokenizers", at, parse_pre_tokenizer));
  }
  if (type == "Split") {
    return std::make_unique<SplitPreTokenizer>(Pattern::field(value, "pattern", at), parse_behavior(value, at),
                                               bool_field(value, "invert", at, false));
  }
  if (type == "ByteLevel") {
    std::optional<Pattern> words;
    if (bool_field(value, "use_regex", at, true)) words = Pattern::parse(nlohmann::json{{"Regex", kGpt2Pattern}}, at);
    return std::make_unique<ByteLevelPreTokenizer>(bool_field(value, "add_prefix_space", at, true), std::move(words));
  }
  if (type == "Metaspace") return parse_metaspace(value, at);
  if (auto rule = parse_rule(type, value, at)) return rule;
  throw_unsupported(at.child("type"), "pre-tokenizer", type, kSupported);
}

}  // namespace ds::engine::tokenizer
