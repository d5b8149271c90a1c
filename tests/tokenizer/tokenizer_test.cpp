// The Tokenizer interface's own pieces: the byte tokenizer and make_tokenizer/load_tokenizer.
#include "engine/tokenizer/tokenizer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "tests/tokenizer/tiny_tokenizers.hpp"

namespace ds::engine::tokenizer {
namespace {

using Ids = std::vector<std::uint32_t>;

TEST(Tokenizer, ByteTokenizerIsLosslessWithAnEndOfTextId) {
  auto t = make_tokenizer("byte");
  EXPECT_EQ(t->vocab_size(), 257);
  EXPECT_EQ(t->eot_id(), 256u);
  std::vector<std::uint32_t> ids;
  t->encode("h\xc3\xa9!", ids);
  EXPECT_EQ(ids, (Ids{104, 0xc3, 0xa9, 33}));
  ids.push_back(256);
  EXPECT_EQ(t->decode(ids), "h\xc3\xa9!<|endoftext|>");
  EXPECT_EQ(t->token_to_id("<|endoftext|>"), 256u);
  EXPECT_EQ(t->id_to_token('h'), "h");
}

TEST(Tokenizer, LoadsATokenizerJsonFromAFileOrADirectory) {
  const auto dir = std::filesystem::temp_directory_path() / ("ds_tok_load_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << test::byte_level_json().dump();
  EXPECT_EQ(load_tokenizer(dir)->encode("hello"), (Ids{259}));
  EXPECT_EQ(make_tokenizer((dir / "tokenizer.json").string())->encode("hello"), (Ids{259}));
  EXPECT_EQ(make_tokenizer(dir.string())->name(), "hf:" + (dir / "tokenizer.json").string());
  std::filesystem::remove(dir / "tokenizer.json");
  try {
    load_tokenizer(dir);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ": no tokenizer.json in this directory; hint: pass the model directory "
                                                    "holding tokenizer.json, or the file itself");
  }
  std::filesystem::remove_all(dir);
}

TEST(Tokenizer, UnknownSpecSuggestsByte) {
  try {
    make_tokenizer("bytes");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--tokenizer: unknown tokenizer (got 'bytes'); expected 'byte', a tokenizer.json file or a model directory "
              "holding one; hint: the path must exist; Hugging Face repos are not downloaded; did you mean 'byte'?");
  }
}

}  // namespace
}  // namespace ds::engine::tokenizer
