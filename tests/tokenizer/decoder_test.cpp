// Decoders one by one on token strings, as the Rust crate documents them.
#include "engine/tokenizer/decoder.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/json_fields.hpp"

namespace ds::engine::tokenizer {
namespace {

using Tokens = std::vector<std::string>;

Tokens decode(const nlohmann::json& config, Tokens tokens, bool raw = false) {
  parse_decoder(config, JsonPath{"tokenizer.json", "decoder"})->decode_chain(tokens, raw);
  return tokens;
}

TEST(Decoder, ByteLevelJoinsAndMapsBackToBytes) {
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"Hello", "Ġworld", "Ċ"}), (Tokens{"Hello world\n"}));
  // 😀 as its four byte characters, spread over two tokens.
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"ðŁ", "ĺĢ"}), (Tokens{"😀"}));
}

TEST(Decoder, MetaspaceRestoresSpacesAndDropsTheFirst) {
  EXPECT_EQ(decode({{"type", "Metaspace"}, {"prepend_scheme", "always"}}, {"▁Hey", "▁friend"}), (Tokens{"Hey", " friend"}));
  EXPECT_EQ(decode({{"type", "Metaspace"}, {"prepend_scheme", "never"}}, {"▁Hey"}), (Tokens{" Hey"}));
}

TEST(Decoder, ByteFallbackJoinsByteRuns) {
  const nlohmann::json config = {{"type", "ByteFallback"}};
  EXPECT_EQ(decode(config, {"a", "<0xE4>", "<0xBD>", "<0xA0>", "b"}), (Tokens{"a", "你", "b"}));
  // Not UTF-8: one U+FFFD per byte token, unless the caller asks for the raw bytes.
  EXPECT_EQ(decode(config, {"<0xE4>", "<0xBD>"}), (Tokens{"\xEF\xBF\xBD", "\xEF\xBF\xBD"}));
  EXPECT_EQ(decode(config, {"<0xE4>", "<0xBD>"}, true), (Tokens{"\xE4\xBD"}));
  EXPECT_EQ(decode(config, {"<0xZZ>", "<0x41"}), (Tokens{"<0xZZ>", "<0x41"}));
}

TEST(Decoder, Llama2Chain) {
  const nlohmann::json config = {
      {"type", "Sequence"},
      {"decoders",
       {{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
        {{"type", "ByteFallback"}},
        {{"type", "Fuse"}},
        {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  EXPECT_EQ(decode(config, {"▁Hello", "▁", "<0xE4>", "<0xBD>", "<0xA0>", "!"}), (Tokens{"Hello 你!"}));
}

TEST(Decoder, StripCutsAtMostTheGivenCount) {
  const nlohmann::json config = {{"type", "Strip"}, {"content", "x"}, {"start", 2}, {"stop", 1}};
  EXPECT_EQ(decode(config, {"xxxaxx", "ax"}), (Tokens{"xax", "a"}));
}

}  // namespace
}  // namespace ds::engine::tokenizer
