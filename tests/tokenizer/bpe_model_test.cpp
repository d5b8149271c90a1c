// The BPE model on its own: merge order, subword prefix and suffix, unknown characters (unk,
// fuse_unk, byte fallback), ignore_merges, long SentencePiece lines, and the exact errors for bad
// model objects. Ids are worked out by hand from the merge ranks.
#include "engine/tokenizer/bpe_model.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/tokenizer_json.hpp"

namespace ds::engine::tokenizer {
namespace {

using Ids = std::vector<std::uint32_t>;
const JsonPath kAt{"tokenizer.json", "model"};

Ids encode(const nlohmann::json& model, std::string_view word) {
  const BpeModel bpe(model, kAt);
  Ids out{99};  // encode_word appends
  bpe.encode_word(word, out);
  out.erase(out.begin());
  return out;
}

std::string error_of(const nlohmann::json& model) {
  try {
    BpeModel bpe(model, kAt);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

// a 0, b 1, c 2, ab 3, bc 4, aa 5, aaaa 6.
nlohmann::json abc(nlohmann::json merges) {
  return {{"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"aa", 5}, {"aaaa", 6}}}, {"merges", merges}};
}

TEST(BpeModel, LowestRankFirstThenLeftmost) {
  EXPECT_EQ(encode(abc({"a b", "b c"}), "abc"), (Ids{3, 2}));
  EXPECT_EQ(encode(abc({"b c", "a b"}), "abc"), (Ids{0, 4}));
  using J = nlohmann::json;
  EXPECT_EQ(encode(abc(J::array({J::array({"b", "c"}), J::array({"a", "b"})})), "abc"), (Ids{0, 4}));  // pair form
  EXPECT_EQ(encode(abc({"a a"}), "aaa"), (Ids{5, 0}));                 // leftmost of equal ranks
  EXPECT_EQ(encode(abc({"a a", "aa aa"}), "aaaaa"), (Ids{6, 0}));
  EXPECT_EQ(encode(abc({"a b"}), ""), Ids{});
  EXPECT_EQ(encode(abc({"a b"}), "c"), (Ids{2}));
}

TEST(BpeModel, ContinuingSubwordPrefixAndEndOfWordSuffix) {
  // BERT-style "##": the merged token drops the right side's prefix.
  const nlohmann::json prefixed = {{"vocab", {{"h", 0}, {"##e", 1}, {"##y", 2}, {"he", 3}}},
                                   {"merges", {"h ##e"}},
                                   {"continuing_subword_prefix", "##"}};
  EXPECT_EQ(encode(prefixed, "hey"), (Ids{3, 2}));
  const nlohmann::json suffixed = {{"vocab", {{"a", 0}, {"b</w>", 1}, {"ab</w>", 2}, {"a</w>", 3}}},
                                   {"merges", {"a b</w>"}},
                                   {"end_of_word_suffix", "</w>"}};
  EXPECT_EQ(encode(suffixed, "ab"), (Ids{2}));
  EXPECT_EQ(encode(suffixed, "a"), (Ids{3}));
}

TEST(BpeModel, UnknownCharactersBecomeUnkFusedUnkOrNothing) {
  nlohmann::json model = {{"vocab", {{"<unk>", 0}, {"a", 1}}}, {"merges", nlohmann::json::array()}};
  EXPECT_EQ(encode(model, "xay"), (Ids{1}));  // no unk_token: dropped, as the Rust crate does
  model["unk_token"] = "<unk>";
  EXPECT_EQ(BpeModel(model, kAt).unk_id(), 0u);
  EXPECT_EQ(encode(model, "xyaé"), (Ids{0, 0, 1, 0}));
  model["fuse_unk"] = true;
  EXPECT_EQ(encode(model, "xyaé"), (Ids{0, 1, 0}));
}

TEST(BpeModel, ByteFallbackNeedsAllTwoHundredFiftySixByteTokens) {
  nlohmann::json model = {{"vocab", {{"<unk>", 0}, {"a", 1}}}, {"merges", nlohmann::json::array()}, {"unk_token", "<unk>"},
                          {"byte_fallback", true}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    model["vocab"][name] = 2 + b;
  }
  EXPECT_EQ(encode(model, "aé"), (Ids{1, 2 + 0xC3, 2 + 0xA9}));  // é is C3 A9
  model["vocab"].erase("<0x7F>");
  EXPECT_EQ(encode(model, "aé"), (Ids{1, 0}));  // one byte token missing: no fallback
}

TEST(BpeModel, IgnoreMergesTakesAWholeWordFromTheVocabulary) {
  nlohmann::json model = abc({"a a"});
  EXPECT_EQ(encode(model, "aaaa"), (Ids{5, 5}));
  model["ignore_merges"] = true;
  EXPECT_EQ(encode(model, "aaaa"), (Ids{6}));
  EXPECT_EQ(encode(model, "aaa"), (Ids{5, 0}));  // not a token: merges as usual
}

TEST(BpeModel, LongSentencePieceLinesEncodeWordByWord) {
  // ▁ 0, h 1, i 2, ▁h 3, ▁hi 4: a 500-byte line (past the word cache) gives one ▁hi per word.
  const nlohmann::json model = {{"vocab", {{"▁", 0}, {"h", 1}, {"i", 2}, {"▁h", 3}, {"▁hi", 4}}},
                                {"merges", {"▁ h", "▁h i"}}};
  std::string line;
  for (int k = 0; k < 100; ++k) line += "▁hi";
  EXPECT_EQ(encode(model, line), Ids(100, 4));
  // "▁▁hi": the second ▁ follows a ▁, so no cut there; the first ▁ is left alone.
  Ids want{0};
  want.insert(want.end(), 101, 4);
  EXPECT_EQ(encode(model, "▁▁hi" + line), want);
}

TEST(BpeModel, TablesReplaceTheJsonVocabAndMerges) {
  BpeTables tables;
  tables.vocab = {{"x", 0}, {"y", 1}, {"xy", 2}, {"x", 7}};  // a repeated token keeps its last id
  tables.merges = {{"x", "y"}};
  const BpeModel bpe(nlohmann::json::object(), kAt, &tables);
  Ids out;
  bpe.encode_word("xyx", out);
  EXPECT_EQ(out, (Ids{2, 7}));
  EXPECT_EQ(bpe.vocab().size(), 3u);
}

TEST(BpeModel, BadModelsNameTheKey) {
  EXPECT_EQ(error_of({{"merges", nlohmann::json::array()}}),
            "tokenizer.json: model.vocab: missing; expected an object of token -> id");
  EXPECT_EQ(error_of({{"vocab", nlohmann::json::array()}, {"merges", nlohmann::json::array()}}),
            "tokenizer.json: model.vocab: wrong type (got array); expected an object of token -> id");
  EXPECT_EQ(error_of({{"vocab", {{"a", -1}}}, {"merges", nlohmann::json::array()}}),
            "tokenizer.json: model.vocab.a: bad id (got -1); expected an integer >= 0");
  EXPECT_EQ(error_of({{"vocab", {{"a", 0}}}}), "tokenizer.json: model.merges: missing; expected an array");
  nlohmann::json model = abc({"a b"});
  model["dropout"] = 0.1;
  EXPECT_EQ(error_of(model), "tokenizer.json: model.dropout: unsupported BPE dropout (got 0.1); expected null (dropout is "
                             "for training a tokenizer, not for using one)");
  model["dropout"] = 0.0;
  EXPECT_EQ(error_of(model), "no error");
  model["unk_token"] = "<unk>";
  EXPECT_EQ(error_of(model),
            "tokenizer.json: model.unk_token: not in the vocabulary (got '<unk>'); expected a token of model.vocab");
  EXPECT_EQ(error_of(abc({"a c"})), "tokenizer.json: model.merges[0]: merge uses a token not in model.vocab (got 'ac'); "
                                    "expected merges of vocabulary tokens");
  EXPECT_EQ(error_of(abc({"a b", "a  b"})), "tokenizer.json: model.merges[1]: malformed merge (got 'a  b'); expected two "
                                            "tokens separated by one space");
  EXPECT_EQ(error_of(abc({" a"})), "tokenizer.json: model.merges[0]: malformed merge (got ' a'); expected two tokens "
                                   "separated by one space");
}

}  // namespace
}  // namespace ds::engine::tokenizer
