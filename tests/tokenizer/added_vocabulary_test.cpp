// Added tokens on their own: where split() cuts (leftmost, then longest), the special /
// single_word / lstrip / rstrip / normalized flags, and the exact errors for bad entries.
#include "engine/tokenizer/added_vocabulary.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/normalizer.hpp"

namespace ds::engine::tokenizer {
namespace {

const JsonPath kAt{"tokenizer.json", "added_tokens"};
// (text, id of the added token or -1 for plain text)
using Cuts = std::vector<std::pair<std::string, int>>;

nlohmann::json token(int id, const char* content, bool special = false) {
  return {{"id", id}, {"content", content}, {"special", special}};
}

Cuts split(const AddedVocabulary& vocab, std::string_view text, bool parse_special = true, bool normalized_pass = false) {
  std::vector<Section> sections;
  vocab.split(text, parse_special, normalized_pass, sections);
  Cuts cuts;
  for (const auto& s : sections) cuts.emplace_back(std::string(s.text), s.token ? static_cast<int>(s.token->id) : -1);
  return cuts;
}

std::string error_of(const nlohmann::json& added) {
  try {
    AddedVocabulary vocab(&added, kAt, nullptr);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(AddedVocabulary, LeftmostMatchFirstThenTheLongest) {
  const nlohmann::json added = {token(10, "ab"), token(11, "abc"), token(12, "bcd")};
  const AddedVocabulary vocab(&added, kAt, nullptr);
  EXPECT_EQ(split(vocab, "xabcdy"), (Cuts{{"x", -1}, {"abc", 11}, {"dy", -1}}));
  EXPECT_EQ(split(vocab, "abab"), (Cuts{{"ab", 10}, {"ab", 10}}));
  EXPECT_EQ(split(vocab, "xbcd"), (Cuts{{"x", -1}, {"bcd", 12}}));
  EXPECT_EQ(split(vocab, "nothing"), (Cuts{{"nothing", -1}}));
  const AddedVocabulary none(nullptr, kAt, nullptr);
  EXPECT_EQ(split(none, "abc"), (Cuts{{"abc", -1}}));
  EXPECT_TRUE(none.tokens().empty());
}

TEST(AddedVocabulary, SpecialTokensOnlyWhenParsingSpecial) {
  const nlohmann::json added = {token(1, "<s>", true), token(2, "<s>x")};
  const AddedVocabulary vocab(&added, kAt, nullptr);
  EXPECT_EQ(split(vocab, "a<s>b", true), (Cuts{{"a", -1}, {"<s>", 1}, {"b", -1}}));
  EXPECT_EQ(split(vocab, "a<s>b", false), (Cuts{{"a<s>b", -1}}));
  // The longer non-special token still matches where the special one is skipped.
  EXPECT_EQ(split(vocab, "<s>x", false), (Cuts{{"<s>x", 2}}));
}

TEST(AddedVocabulary, SingleWordMatchesOnlyBetweenWhitespace) {
  nlohmann::json added = {token(5, "hi")};
  added[0]["single_word"] = true;
  const AddedVocabulary vocab(&added, kAt, nullptr);
  EXPECT_EQ(split(vocab, "hi there\thi"), (Cuts{{"hi", 5}, {" there\t", -1}, {"hi", 5}}));
  EXPECT_EQ(split(vocab, "chin hit"), (Cuts{{"chin hit", -1}}));
}

TEST(AddedVocabulary, LstripAndRstripTakeTheNeighbouringWhitespace) {
  nlohmann::json added = {token(7, "<m>"), token(8, "<n>")};
  added[0]["lstrip"] = true;
  added[1]["rstrip"] = true;
  const AddedVocabulary vocab(&added, kAt, nullptr);
  EXPECT_EQ(split(vocab, "a \t<m> b"), (Cuts{{"a", -1}, {"<m>", 7}, {" b", -1}}));
  EXPECT_EQ(split(vocab, "a <n>\n b"), (Cuts{{"a ", -1}, {"<n>", 8}, {"b", -1}}));
}

TEST(AddedVocabulary, NormalizedTokensMatchInTheNormalizedPass) {
  const nlohmann::json replace = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}};
  const auto normalizer = parse_normalizer(replace, JsonPath{"tokenizer.json", "normalizer"});
  // normalized defaults to !special: "h i" is looked for as "h_i" after normalization.
  const nlohmann::json added = {token(3, "h i"), token(4, "<x y>", true)};
  const AddedVocabulary vocab(&added, kAt, normalizer.get());
  EXPECT_EQ(split(vocab, "h i<x y>"), (Cuts{{"h i", -1}, {"<x y>", 4}}));
  EXPECT_EQ(split(vocab, "ah_i", true, true), (Cuts{{"a", -1}, {"h_i", 3}}));
  EXPECT_EQ(split(vocab, "<x_y>", true, true), (Cuts{{"<x_y>", -1}}));
  EXPECT_TRUE(vocab.tokens()[0].normalized);
  EXPECT_FALSE(vocab.tokens()[1].normalized);
}

TEST(AddedVocabulary, FindByExactContent) {
  const nlohmann::json added = {token(1, "<s>", true), token(2, "</s>", true), token(9, "<s>")};
  const AddedVocabulary vocab(&added, kAt, nullptr);
  ASSERT_NE(vocab.find("</s>"), nullptr);
  EXPECT_EQ(vocab.find("</s>")->id, 2u);
  EXPECT_EQ(vocab.find("<s>")->id, 1u);  // a repeated content: the first entry
  EXPECT_EQ(vocab.find("<s"), nullptr);
  EXPECT_EQ(split(vocab, "<s>"), (Cuts{{"<s>", 1}}));
  EXPECT_EQ(vocab.tokens().size(), 3u);
}

TEST(AddedVocabulary, BadEntriesNameTheKey) {
  EXPECT_EQ(error_of({{"a", 1}}), "tokenizer.json: added_tokens: wrong type (got object); expected an array of added tokens");
  EXPECT_EQ(error_of({"x"}), "tokenizer.json: added_tokens[0]: wrong type (got string); expected an object");
  EXPECT_EQ(error_of({{{"id", 1}}}), "tokenizer.json: added_tokens[0].content: missing; expected a string");
  EXPECT_EQ(error_of({token(1, "a"), {{"content", "b"}}}),
            "tokenizer.json: added_tokens[1].id: missing; expected an integer >= 0");
  EXPECT_EQ(error_of(nlohmann::json::array({token(-1, "a")})),
            "tokenizer.json: added_tokens[0].id: bad id (got -1); expected an integer >= 0");
  EXPECT_EQ(error_of(nlohmann::json::array({token(1, "")})),
            "tokenizer.json: added_tokens[0].content: empty; expected the token's text");
  nlohmann::json added = {token(1, "a")};
  added[0]["special"] = "yes";
  EXPECT_EQ(error_of(added), "tokenizer.json: added_tokens[0].special: wrong type (got string); expected true or false");
  EXPECT_EQ(error_of(nlohmann::json::array()), "no error");
}

}  // namespace
}  // namespace ds::engine::tokenizer
