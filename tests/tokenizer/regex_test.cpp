// Regex (PCRE2 with Unicode properties) and tokenizer.json's {"String"} / {"Regex"} patterns:
// byte offsets of matches, empty matches, literal matching and replacing, and the exact errors.
#include "engine/tokenizer/regex.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "tests/support/error_of.hpp"

namespace ds::engine::tokenizer {
namespace {

using Spans = std::vector<std::pair<std::size_t, std::size_t>>;
using J = nlohmann::json;
const JsonPath kAt{"tokenizer.json", "normalizer.pattern"};

TEST(Regex, Gpt2PatternSplitsAtByteOffsets) {
  const Regex gpt2(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "gpt2");
  // "I" "'m" " here" " " " now" "!": the run of two spaces leaves its last one to the next word.
  EXPECT_EQ(gpt2.find_all("I'm here  now!"), (Spans{{0, 1}, {1, 3}, {3, 8}, {8, 9}, {9, 13}, {13, 14}}));
  // \p{L} takes ö, ß and 你 (2, 2 and 3 bytes); offsets are in bytes.
  EXPECT_EQ(gpt2.find_all("Größe 你好"), (Spans{{0, 7}, {7, 14}}));
  EXPECT_EQ(gpt2.find_all(""), Spans{});
}

TEST(Regex, UnicodePropertiesAndCaseInsensitiveGroups) {
  // Under UCP \s includes U+3000 (ideographic space) and \d the Arabic-Indic digits.
  EXPECT_EQ(Regex(R"(\s)", "w").find_all("a\xE3\x80\x80" "b"), (Spans{{1, 4}}));
  EXPECT_EQ(Regex(R"(\d+)", "w").find_all("x\xD9\xA1\xD9\xA2"), (Spans{{1, 5}}));
  EXPECT_EQ(Regex(R"((?i:'s|'t))", "w").find_all("IT'S it's"), (Spans{{2, 4}, {7, 9}}));
}

TEST(Regex, EmptyMatchesAreSkippedByOneCharacter) {
  // x* matches empty everywhere; only the non-empty runs come back, and the scan steps over the
  // two bytes of é as one character.
  const Regex x("x*", "w");
  EXPECT_EQ(x.find_all("axx\xC3\xA9x"), (Spans{{1, 3}, {5, 6}}));
  EXPECT_EQ(x.find_all("\xC3\xA9\xE4\xBD\xA0"), Spans{});
}

TEST(Regex, MovedRegexStillMatches) {
  Regex a("b+", "w");
  const Regex b(std::move(a));
  EXPECT_EQ(b.find_all("abba"), (Spans{{1, 3}}));
}

TEST(Regex, PatternsThatDoNotCompileNameTheKey) {
  EXPECT_EQ(ds::test::error_of<UsageError>([] { Regex("[a-", "tokenizer.json: pre_tokenizer.pattern.Regex"); }),
            "tokenizer.json: pre_tokenizer.pattern.Regex: regular expression does not compile: missing terminating ] for "
            "character class at offset 3 (got '[a-'); expected a PCRE2/Oniguruma-compatible pattern");
}

TEST(Pattern, StringIsALiteralMatchedWithoutOverlap) {
  const Pattern p = Pattern::parse({{"String", "aa"}}, kAt);
  EXPECT_EQ(p.find_all("aaaaa"), (Spans{{0, 2}, {2, 4}}));
  EXPECT_EQ(p.replace_all("aaaaa", "b"), "bba");
  // A literal, not a regex: the dot is a dot.
  const Pattern dot = Pattern::parse({{"String", "."}}, kAt);
  EXPECT_EQ(dot.replace_all("a.b.", "▁"), "a▁b▁");
  EXPECT_EQ(dot.replace_all("ab", "▁"), "ab");
}

TEST(Pattern, RegexFormReplacesEveryMatch) {
  const Pattern p = Pattern::parse({{"Regex", R"(\s+)"}}, kAt);
  EXPECT_EQ(p.replace_all(" a \t b\n", " "), " a b ");
  const J normalizer = {{"type", "Replace"}, {"pattern", {{"Regex", "[0-9]"}}}};
  EXPECT_EQ(Pattern::field(normalizer, "pattern", JsonPath{"tokenizer.json", "normalizer"}).find_all("a1b22"),
            (Spans{{1, 2}, {3, 4}, {4, 5}}));
}

TEST(Pattern, BadPatternsNameTheKey) {
  EXPECT_EQ(ds::test::error_of<UsageError>([] { Pattern::parse({{"String", ""}}, kAt); }),
            "tokenizer.json: normalizer.pattern.String: empty pattern; expected a non-empty string");
  EXPECT_EQ(ds::test::error_of<UsageError>([] { Pattern::parse({{"String", 3}}, kAt); }),
            "tokenizer.json: normalizer.pattern.String: wrong type (got number); expected a string");
  EXPECT_EQ(ds::test::error_of<UsageError>([] { Pattern::parse({{"Glob", "*"}}, kAt); }),
            "tokenizer.json: normalizer.pattern: unknown pattern (got {\"Glob\":\"*\"}); expected {\"String\": ...} or "
            "{\"Regex\": ...}");
  EXPECT_EQ(ds::test::error_of<UsageError>([] { Pattern::parse(" ", kAt); }),
            "tokenizer.json: normalizer.pattern: wrong type (got string); expected an object");
  EXPECT_EQ(ds::test::error_of<UsageError>([] { Pattern::field(J{{"type", "Replace"}}, "pattern", JsonPath{"tokenizer.json", "normalizer"}); }),
            "tokenizer.json: normalizer.pattern: missing; expected {\"String\": ...} or {\"Regex\": ...}");
  EXPECT_EQ(ds::test::error_of<UsageError>([] { Pattern::parse({{"Regex", "(?<"}}, kAt); }).rfind(
                "tokenizer.json: normalizer.pattern.Regex: regular expression does not compile: ", 0),
            0u);
}

}  // namespace
}  // namespace ds::engine::tokenizer
