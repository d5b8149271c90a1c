// Normalizers: the Llama 2 chain (Prepend, Replace), Unicode forms, and regex replacement.
#include "engine/tokenizer/normalizer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/json_fields.hpp"

namespace ds::engine::tokenizer {
namespace {

std::string normalize(const nlohmann::json& config, const std::string& text) {
  return parse_normalizer(config, JsonPath{"tokenizer.json", "normalizer"})->normalize(text);
}

TEST(Normalizer, Llama2PrependsAndReplacesSpaces) {
  const nlohmann::json config = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", "▁"}}, {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}}}};
  EXPECT_EQ(normalize(config, "Hello world"), "▁Hello▁world");
  EXPECT_EQ(normalize(config, ""), "");  // nothing to prepend to
}

TEST(Normalizer, UnicodeForms) {
  const std::string decomposed = "e\xCC\x81";  // e + COMBINING ACUTE
  EXPECT_EQ(normalize({{"type", "NFC"}}, decomposed), "é");
  EXPECT_EQ(normalize({{"type", "NFC"}}, "\xE2\x84\xAB"), "Å");  // ANGSTROM SIGN -> A WITH RING
  EXPECT_EQ(normalize({{"type", "NFD"}}, "é"), decomposed);
  EXPECT_EQ(normalize({{"type", "NFKC"}}, "\xEF\xAC\x81"), "fi");  // the ﬁ ligature
  EXPECT_EQ(normalize({{"type", "NFC"}}, "plain ascii"), "plain ascii");
}

TEST(Normalizer, RegexReplace) {
  const nlohmann::json config = {{"type", "Replace"}, {"pattern", {{"Regex", R"(\s+)"}}}, {"content", " "}};
  EXPECT_EQ(normalize(config, "a \t\n b\xE3\x80\x80" "c"), "a b c");  // U+3000 is a space too
}

TEST(Normalizer, NullIsNone) { EXPECT_EQ(parse_normalizer(nullptr, JsonPath{"tokenizer.json", "normalizer"}), nullptr); }

}  // namespace
}  // namespace ds::engine::tokenizer
