#include "engine/tokenizer/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

pcre2_code* code_of(void* p) { return static_cast<pcre2_code*>(p); }

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

Regex::Regex(std::string_view pattern, const std::string& where) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    throw UsageError(format_error(where, "regular expression does not compile: " +
                                             std::string(reinterpret_cast<const char*>(message)) + " at offset " +
                                             std::to_string(error_offset),
                                  "'" + std::string(pattern) + "'", "a PCRE2/Oniguruma-compatible pattern"));
  }
  // JIT makes the pre-tokenizer several times faster; without it (some platforms) the interpreter runs.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

Regex::~Regex() {
  if (code_ != nullptr) pcre2_code_free(code_of(code_));
}

Regex::Regex(Regex&& other) noexcept : code_(other.code_) { other.code_ = nullptr; }

std::vector<std::pair<std::size_t, std::size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(pcre2_match_data_create_from_pattern(code_of(code_), nullptr));
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t offset = 0;
  // The caller has made the text valid UTF-8, so PCRE2's own check (a full scan per call) is skipped.
  while (offset <= text.size()) {
    int rc = pcre2_match(code_of(code_), subject, text.size(), offset, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    // The JIT's fixed stack can run out on pathological input where the interpreter (heap) copes.
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
      rc = pcre2_match(code_of(code_), subject, text.size(), offset, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, data.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      // Never drop the rest of the text silently.
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw RuntimeError(format_error("pre-tokenizer regex", "matching failed at byte " + std::to_string(offset),
                                      reinterpret_cast<const char*>(message), "", "split the input into smaller pieces"));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const std::size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      offset = end;
    } else {
      if (begin >= text.size()) break;
      offset = begin + utf8_sequence_length(static_cast<unsigned char>(text[begin]));
    }
  }
  return matches;
}

Pattern Pattern::parse(const nlohmann::json& value, const JsonPath& at) {
  require_object(value, at);
  Pattern p;
  if (find_field(value, "String") != nullptr) {
    p.literal_ = string_field(value, "String", at, "");
    if (p.literal_.empty()) throw UsageError(format_error(at.child("String").where(), "empty pattern", "", "a non-empty string"));
    return p;
  }
  if (find_field(value, "Regex") != nullptr) {
    const std::string source = string_field(value, "Regex", at, "");
    p.regex_ = std::make_shared<Regex>(source, at.child("Regex").where());
    return p;
  }
  throw UsageError(format_error(at.where(), "unknown pattern", value.dump(), "{\"String\": ...} or {\"Regex\": ...}"));
}

Pattern Pattern::field(const nlohmann::json& obj, const char* name, const JsonPath& at) {
  const auto* value = find_field(obj, name);
  if (value == nullptr) throw UsageError(format_error(at.child(name).where(), "missing", "", "{\"String\": ...} or {\"Regex\": ...}"));
  return parse(*value, at.child(name));
}

std::vector<std::pair<std::size_t, std::size_t>> Pattern::find_all(std::string_view text) const {
  if (regex_) return regex_->find_all(text);
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  for (std::size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size())) {
    matches.emplace_back(at, at + literal_.size());
  }
  return matches;
}

std::string Pattern::replace_all(std::string_view text, std::string_view content) const {
  std::string out;
  out.reserve(text.size());
  std::size_t last = 0;
  for (const auto& [begin, end] : find_all(text)) {
    out.append(text.substr(last, begin - last));
    out.append(content);
    last = end;
  }
  out.append(text.substr(last));
  return out;
}

}  // namespace ds::engine::tokenizer
