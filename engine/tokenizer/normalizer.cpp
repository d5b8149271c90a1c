#include "engine/tokenizer/normalizer.hpp"

#include <nlohmann/json.hpp>

#include <vector>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/regex.hpp"
#include "engine/tokenizer/utf8.hpp"

#ifdef DS_HAVE_ICU
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#endif

namespace ds::engine::tokenizer {
namespace {

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string normalize(std::string text) const override {
    for (const auto& step : steps_) text = step->normalize(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  // The Rust implementation leaves an empty string empty.
  std::string normalize(std::string text) const override { return text.empty() ? text : prefix_ + text; }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string text) const override { return pattern_.replace_all(text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

enum class UnicodeForm { kNfc, kNfd, kNfkc, kNfkd };

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}
  std::string normalize(std::string text) const override {
    // ASCII is already in every normalization form; most of a corpus skips ICU's UTF-16 round trip.
    if (is_ascii(text)) return text;
#ifdef DS_HAVE_ICU
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = nullptr;
    switch (form_) {
      case UnicodeForm::kNfc: n = icu::Normalizer2::getNFCInstance(status); break;
      case UnicodeForm::kNfd: n = icu::Normalizer2::getNFDInstance(status); break;
      case UnicodeForm::kNfkc: n = icu::Normalizer2::getNFKCInstance(status); break;
      case UnicodeForm::kNfkd: n = icu::Normalizer2::getNFKDInstance(status); break;
    }
    const icu::UnicodeString in = icu::UnicodeString::fromUTF8(text);
    if (U_SUCCESS(status) && n->isNormalized(in, status) && U_SUCCESS(status)) return text;
    status = U_ZERO_ERROR;
    const icu::UnicodeString out = n->normalize(in, status);
    if (U_FAILURE(status)) throw RuntimeError(format_error("unicode normalizer", "ICU failed", u_errorName(status)));
    std::string result;
    out.toUTF8String(result);
    return result;
#else
    (void)form_;
    return text;  // unreachable: parse_normalizer refuses these forms without ICU
#endif
  }

 private:
  UnicodeForm form_;
};

const std::vector<std::string> kSupported = {"Sequence", "Prepend", "Replace", "NFC", "NFD", "NFKC", "NFKD"};

}  // namespace

std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& value, const JsonPath& at) {
  if (value.is_null()) return nullptr;
  require_object(value, at);
  const std::string type = required_string(value, "type", at);
  if (type == "Sequence") {
    return std::make_unique<SequenceNormalizer>(parse_steps<Normalizer>(value, "normalizers", at, parse_normalizer));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(required_string(value, "prepend", at));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(Pattern::field(value, "pattern", at),
                                               string_field(value, "content", at, ""));
  }
  UnicodeForm form{};
  if (type == "NFC") form = UnicodeForm::kNfc;
  else if (type == "NFD") form = UnicodeForm::kNfd;
  else if (type == "NFKC") form = UnicodeForm::kNfkc;
  else if (type == "NFKD") form = UnicodeForm::kNfkd;
  else throw_unsupported(at.child("type"), "normalizer", type, kSupported);
#ifndef DS_HAVE_ICU
  throw UsageError(format_error(at.child("type").where(), "the " + type + " normalizer needs ICU, which this build lacks",
                                "", "", "install libicu-dev and rebuild ds"));
#endif
  return std::make_unique<UnicodeNormalizer>(form);
}

}  // namespace ds::engine::tokenizer
