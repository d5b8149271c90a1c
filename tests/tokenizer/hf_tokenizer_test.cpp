// tokenizer.json reading and encoding, on hand-written files: merges in both forms, added
// tokens, byte fallback, templates, and the exact messages for files ds cannot read.
#include "engine/tokenizer/hf_tokenizer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <vector>

#include "common/error.hpp"
#include "tests/tokenizer/tiny_tokenizers.hpp"

namespace ds::engine::tokenizer {
namespace {

using Ids = std::vector<std::uint32_t>;

std::unique_ptr<Tokenizer> tiny(const nlohmann::json& j) { return parse_tokenizer_json(j.dump(), "tokenizer.json"); }

std::string error_of(const nlohmann::json& j) {
  try {
    tiny(j);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(HfTokenizer, MergesAsStringsAndAsPairsGiveTheSameIds) {
  for (bool pairs : {false, true}) {
    auto t = tiny(test::byte_level_json(pairs));
    // "hello" merges all the way; " world" is "Ġw" then single bytes.
    EXPECT_EQ(t->encode("hello world"), (Ids{259, 260, 'o', 'r', 'l', 'd'})) << "pairs " << pairs;
    EXPECT_EQ(t->decode(t->encode("hello world")), "hello world");
  }
}

TEST(HfTokenizer, LowestRankMergesFirst) {
  auto t = tiny(test::byte_level_json());
  // "hell" needs he (rank 0) and ll (rank 1) first; "hel" can only become he + l.
  EXPECT_EQ(t->encode("hel"), (Ids{256, 'l'}));
  EXPECT_EQ(t->encode("hell"), (Ids{258}));
  EXPECT_EQ(t->id_to_token(260), "Ġw");
  EXPECT_EQ(t->token_to_id("hello"), 259u);
  EXPECT_EQ(t->token_to_id("<|end|>"), 261u);
  EXPECT_EQ(t->token_to_id("nope"), std::nullopt);
  EXPECT_EQ(t->vocab_size(), 263);
}

TEST(HfTokenizer, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  auto j = test::byte_level_json();
  j["model"]["vocab"]["hel"] = 263;  // in the vocabulary but unreachable by merges
  EXPECT_EQ(tiny(j)->encode("hel"), (Ids{256, 'l'}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(tiny(j)->encode("hel"), (Ids{263}));
}

TEST(HfTokenizer, SpecialTokensAreParsedOnlyWhenAsked) {
  auto t = tiny(test::byte_level_json());
  EXPECT_EQ(t->encode("he<|end|>he"), (Ids{256, 261, 256}));
  const Ids plain = t->encode("he<|end|>", {.add_special_tokens = false, .parse_special = false});
  EXPECT_EQ(plain, (Ids{256, '<', '|', 'e', 'n', 'd', '|', '>'}));
  // A non-special added token is always one id.
  EXPECT_EQ(t->encode("[NOTE]he", {.add_special_tokens = false, .parse_special = false}), (Ids{262, 256}));
  EXPECT_TRUE(t->is_special(261));
  EXPECT_FALSE(t->is_special(262));
  EXPECT_EQ(t->decode(Ids{256, 261, 262}), "he<|end|>[NOTE]");
}

TEST(HfTokenizer, LstripAndRstripTakeTheWhitespaceAround) {
  auto j = test::byte_level_json();
  j["added_tokens"][0]["lstrip"] = true;
  j["added_tokens"][0]["rstrip"] = true;
  EXPECT_EQ(tiny(j)->encode("he <|end|> he"), (Ids{256, 261, 256}));
}

TEST(HfTokenizer, SingleWordTokensMatchOnlyBetweenSpaces) {
  auto j = test::byte_level_json();
  j["added_tokens"][1]["single_word"] = true;
  auto t = tiny(j);
  EXPECT_EQ(t->encode("he [NOTE] he"), (Ids{256, ' ', 262, ' ', 256}));
  EXPECT_EQ(t->encode("x[NOTE]"), (Ids{'x', '[', 'N', 'O', 'T', 'E', ']'}));
}

TEST(HfTokenizer, NormalizedAddedTokensMatchTheNormalizedText) {
  auto j = test::byte_fallback_json();
  // "h i" normalizes to "▁h▁i": with normalized=true the token is found in that form.
  j["added_tokens"].push_back({{"id", 264}, {"content", "h i"}, {"special", false}, {"normalized", true}});
  auto t = tiny(j);
  EXPECT_EQ(t->encode("hi h i", {.add_special_tokens = false}), (Ids{263, 264}));
}

TEST(HfTokenizer, SharedBetweenThreads) {
  auto t = tiny(test::byte_level_json());
  const std::string text = "hello world he hell hello\n";
  const Ids expected = t->encode(text);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) mismatches += t->encode(text) != expected;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(HfTokenizer, ByteFallbackSpellsUnknownCharactersAsBytes) {
  auto t = tiny(test::byte_fallback_json());
  EXPECT_EQ(t->encode("hi hi"), (Ids{1, 263, 263}));
  EXPECT_EQ(t->encode("hi hi", {.add_special_tokens = false}), (Ids{263, 263}));
  // é is not in the vocabulary: its two UTF-8 bytes 0xC3 0xA9 become <0xC3> <0xA9>.
  EXPECT_EQ(t->encode("é", {.add_special_tokens = false}), (Ids{259, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t->decode(Ids{1, 263, 259, 3 + 0xC3, 3 + 0xA9}), "<s> hi é");
  EXPECT_EQ(t->decode(t->encode("hi é hi", {.add_special_tokens = false})), "hi é hi");
  EXPECT_EQ(t->bos_id(), 1u);
  EXPECT_EQ(t->eos_id(), 2u);
  // A lone continuation byte is not text: one U+FFFD for it.
  EXPECT_EQ(t->decode(Ids{3 + 0xA9}), "\xEF\xBF\xBD");
}

TEST(HfTokenizer, UnknownCharactersWithoutByteFallbackBecomeOneUnk) {
  auto j = test::byte_fallback_json();
  j["model"]["byte_fallback"] = false;
  EXPECT_EQ(tiny(j)->encode("hé€", {.add_special_tokens = false}), (Ids{262, 0}));
}

TEST(HfTokenizer, InvalidUtf8IsReadAsReplacementCharacters) {
  auto t = tiny(test::byte_level_json());
  EXPECT_EQ(t->encode("he\xFFhe"), t->encode("he\xEF\xBF\xBDhe"));
}

TEST(HfTokenizer, ErrorsNameTheFileAndKey) {
  const std::string hint = "; hint: this tokenizer.json needs a component ds does not implement yet";
  auto j = test::byte_level_json();
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  EXPECT_EQ(error_of(j), "tokenizer.json: pre_tokenizer.type: unsupported pre-tokenizer (got 'BertPreTokenizer'); expected one "
                         "of: ByteLevel, Digits, Metaspace, Punctuation, Sequence, Split, Whitespace, WhitespaceSplit" + hint);
  j = test::byte_level_json();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "ByteLevel"}}, {{"type", "UnicodeScripts"}}}}};
  EXPECT_EQ(error_of(j), "tokenizer.json: pre_tokenizer.pretokenizers[1].type: unsupported pre-tokenizer (got 'UnicodeScripts'); "
                         "expected one of: ByteLevel, Digits, Metaspace, Punctuation, Sequence, Split, Whitespace, WhitespaceSplit" + hint);
  j = test::byte_level_json();
  j["normalizer"] = {{"type", "BertNormalizer"}};
  EXPECT_EQ(error_of(j), "tokenizer.json: normalizer.type: unsupported normalizer (got 'BertNormalizer'); expected one "
                         "of: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD" + hint);
  j = test::byte_level_json();
  j["model"]["type"] = "WordPiece";
  EXPECT_EQ(error_of(j), "tokenizer.json: model.type: unsupported model (got 'WordPiece'); expected one of: BPE" + hint);
  j = test::byte_level_json();
  j["decoder"] = {{"type", "CTC"}};
  EXPECT_EQ(error_of(j), "tokenizer.json: decoder.type: unsupported decoder (got 'CTC'); expected one of: ByteFallback, "
                         "ByteLevel, Fuse, Metaspace, Replace, Sequence, Strip" + hint);
  j = test::byte_level_json();
  j["post_processor"] = {{"type", "Sequence"}, {"processors", {{{"type", "ByteLevel"}}, {{"type", "Fancy"}}}}};
  EXPECT_EQ(error_of(j), "tokenizer.json: post_processor.processors[1].type: unsupported post-processor (got 'Fancy'); "
                         "expected one of: BertProcessing, ByteLevel, RobertaProcessing, Sequence, TemplateProcessing" + hint);
}

TEST(HfTokenizer, MalformedFilesGetOneClearMessage) {
  EXPECT_THROW(parse_tokenizer_json("{\"model\": ", "tokenizer.json"), UsageError);
  try {
    parse_tokenizer_json("{\"model\": ", "tokenizer.json");
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("tokenizer.json: not valid JSON (got [json.exception.parse_error.101]", 0), 0u)
        << e.what();
  }
  auto j = test::byte_level_json();
  j["model"]["merges"][1] = "l";
  EXPECT_EQ(error_of(j), "tokenizer.json: model.merges[1]: malformed merge (got 'l'); expected two tokens separated by one space");
  j = test::byte_level_json();
  j["model"]["merges"][1] = "l zz";
  EXPECT_EQ(error_of(j), "tokenizer.json: model.merges[1]: merge uses a token not in model.vocab (got 'zz'); expected "
                         "merges of vocabulary tokens");
  j = test::byte_level_json();
  j["model"]["merges"][0] = nlohmann::json::array({"h", 3});
  EXPECT_EQ(error_of(j), "tokenizer.json: model.merges[0]: malformed merge (got [\"h\",3]); expected \"a b\" or [\"a\", \"b\"]");
  j = test::byte_level_json();
  j.erase("model");
  EXPECT_EQ(error_of(j), "tokenizer.json: model: missing; expected an object with \"type\": \"BPE\"");
  j = test::byte_level_json();
  j["added_tokens"][0]["id"] = "x";
  EXPECT_EQ(error_of(j), "tokenizer.json: added_tokens[0].id: bad id (got \"x\"); expected an integer >= 0");
  j = test::byte_level_json();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_EQ(error_of(j), "tokenizer.json: pre_tokenizer.pattern.Regex: regular expression does not compile: missing "
                         "closing parenthesis at offset 9 (got '(unclosed'); expected a PCRE2/Oniguruma-compatible pattern");
  j = test::byte_level_json();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Glued"}};
  EXPECT_EQ(error_of(j), "tokenizer.json: pre_tokenizer.behavior: unsupported split behavior (got 'Glued'); expected one of: "
                         "Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous" + std::string("; hint: this "
                         "tokenizer.json needs a component ds does not implement yet"));
  EXPECT_EQ(error_of(nlohmann::json::array()), "tokenizer.json: wrong type (got array); expected an object");
}

}  // namespace
}  // namespace ds::engine::tokenizer
