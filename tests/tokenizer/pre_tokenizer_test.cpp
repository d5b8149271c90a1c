// Pre-tokenizers on their own: how each Split behavior cuts, Metaspace's prefix and split, and
// ByteLevel (its character map: byte_level_test.cpp).
#include "engine/tokenizer/pre_tokenizer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/json_fields.hpp"

namespace ds::engine::tokenizer {
namespace {

using Pieces = std::vector<std::string>;

Pieces run(const nlohmann::json& config, const std::string& text, bool first = true) {
  auto p = parse_pre_tokenizer(config, JsonPath{"tokenizer.json", "pre_tokenizer"});
  Pieces pieces{text};
  p->split(pieces, first);
  return pieces;
}

nlohmann::json split(const char* behavior, bool invert = false) {
  return {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
}

TEST(PreTokenizer, SplitBehaviorsOnTheRustCratesExample) {
  const std::string text = "the-final--countdown";
  EXPECT_EQ(run(split("Removed"), text), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(run(split("Isolated"), text), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(run(split("MergedWithPrevious"), text), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(run(split("MergedWithNext"), text), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(run(split("Contiguous"), text), (Pieces{"the", "-", "final", "--", "countdown"}));
  // invert: the words are what matches.
  EXPECT_EQ(run(split("Removed", true), text), (Pieces{"-", "-", "-"}));
}

TEST(PreTokenizer, RegexSplitUsesUnicodeClasses) {
  const nlohmann::json config = {{"type", "Split"},
                                 {"pattern", {{"Regex", R"(\p{N}{1,3}| ?\p{L}+|\s+(?!\S)|\s+)"}}},
                                 {"behavior", "Isolated"}};
  EXPECT_EQ(run(config, "Größe 1234567  über"), (Pieces{"Größe", " ", "123", "456", "7", " ", " über"}));
}

TEST(PreTokenizer, MetaspaceReplacesSpacesAndPrependsOne) {
  const nlohmann::json config = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
  EXPECT_EQ(run(config, "Hey friend"), (Pieces{"▁Hey", "▁friend"}));
  const nlohmann::json first = {{"type", "Metaspace"}, {"prepend_scheme", "first"}, {"split", false}};
  EXPECT_EQ(run(first, "a b", true), (Pieces{"▁a▁b"}));
  EXPECT_EQ(run(first, "a b", false), (Pieces{"a▁b"}));
}

TEST(PreTokenizer, FixedRulesAsTheRustCrateDocumentsThem) {
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", true}}, "Hey 123 friend!"),
            (Pieces{"Hey ", "1", "2", "3", " friend!"}));
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", false}}, "Hey 123 friend!"), (Pieces{"Hey ", "123", " friend!"}));
  // Each punctuation character on its own (Isolated), ASCII symbols included.
  EXPECT_EQ(run({{"type", "Punctuation"}}, "Hey friend!     How are you?!?"),
            (Pieces{"Hey friend", "!", "     How are you", "?", "!", "?"}));
  EXPECT_EQ(run({{"type", "Punctuation"}, {"behavior", "Contiguous"}}, "a?!b"), (Pieces{"a", "?!", "b"}));
  EXPECT_EQ(run({{"type", "Whitespace"}}, "Hey man!"), (Pieces{"Hey", "man", "!"}));
  // Combining marks stay inside the word (Oniguruma's \w has them): नमस्ते is one word.
  EXPECT_EQ(run({{"type", "Whitespace"}}, "नमस्ते, दुनिया"), (Pieces{"नमस्ते", ",", "दुनिया"}));
  EXPECT_EQ(run({{"type", "WhitespaceSplit"}}, "Hey  man!\n"), (Pieces{"Hey", "man!"}));
}

TEST(PreTokenizer, ByteLevelMapsBytesToPrintableCharacters) {
  const nlohmann::json config = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(run(config, "Hi there\n"), (Pieces{"ĠHi", "Ġthere", "Ċ"}));
}

}  // namespace
}  // namespace ds::engine::tokenizer
