// GPT-2's byte <-> printable character map (openai/gpt-2 encoder.py, bytes_to_unicode), which
// byte-level BPE vocabularies (GPT-2, Llama 3, Qwen) are written in.
#include "engine/tokenizer/byte_level.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

std::string utf8_of(char32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

TEST(ByteLevel, PublishedCharactersOfGpt2sMap) {
  // Printable Latin-1 stands for itself; the 68 other bytes take U+0100.. in byte order.
  EXPECT_EQ(byte_to_unicode(' '), "Ġ");     // 0x20 -> U+0120
  EXPECT_EQ(byte_to_unicode('\n'), "Ċ");    // 0x0A -> U+010A
  EXPECT_EQ(byte_to_unicode('\t'), "ĉ");    // 0x09 -> U+0109
  EXPECT_EQ(byte_to_unicode(0x00), "Ā");    // U+0100
  EXPECT_EQ(byte_to_unicode(0x7F), "ġ");    // DEL, the 34th unprintable byte -> U+0121
  EXPECT_EQ(byte_to_unicode(0xA0), "ł");    // no-break space -> U+0142
  EXPECT_EQ(byte_to_unicode(0xAD), "Ń");    // soft hyphen, the last one -> U+0143
  EXPECT_EQ(byte_to_unicode('A'), "A");
  EXPECT_EQ(byte_to_unicode('!'), "!");
  EXPECT_EQ(byte_to_unicode('~'), "~");
  EXPECT_EQ(byte_to_unicode(0xA1), "¡");
  EXPECT_EQ(byte_to_unicode(0xAE), "®");
  EXPECT_EQ(byte_to_unicode(0xFF), "ÿ");
}

TEST(ByteLevel, EveryByteFollowsBytesToUnicode) {
  // encoder.py: bs = [!..~] + [¡..¬] + [®..ÿ]; every other byte b, in order, gets 256 + n.
  std::set<std::string> seen;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const char32_t want = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
    EXPECT_EQ(byte_to_unicode(static_cast<unsigned char>(b)), utf8_of(want)) << "byte " << b;
    seen.insert(std::string(byte_to_unicode(static_cast<unsigned char>(b))));
  }
  EXPECT_EQ(n, 68);
  EXPECT_EQ(seen.size(), 256u);  // a bijection
}

TEST(ByteLevel, EncodeAppendsAndDecodeGivesEveryByteBack) {
  std::string out = "kept:";
  byte_level_encode("Hi there\n", out);
  EXPECT_EQ(out, "kept:HiĠthereĊ");

  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string encoded;
  byte_level_encode(all, encoded);
  std::string back = "x";
  byte_level_decode(encoded, back);
  EXPECT_EQ(back, "x" + all);

  std::string empty;
  byte_level_encode("", empty);
  byte_level_decode("", empty);
  EXPECT_EQ(empty, "");
}

TEST(ByteLevel, DecodeMapsCharactersToBytes) {
  std::string back;
  byte_level_decode("ĠHiĊ", back);
  EXPECT_EQ(back, " Hi\n");
  // é (U+00E9) is the character of byte 0xE9: the UTF-8 of "é" is spelled "Ã©".
  back.clear();
  byte_level_decode("Ã©", back);
  EXPECT_EQ(back, "é");
  back.clear();
  byte_level_decode("é", back);
  EXPECT_EQ(back, "\xE9");
}

TEST(ByteLevel, DecodeCopiesCharactersOutsideTheMap) {
  // An added token's text: ń (U+0144, just past the map), CJK and emoji stay as their own UTF-8.
  std::string back;
  byte_level_decode("ń你😀<|end|>Ġ", back);
  EXPECT_EQ(back, "ń你😀<|end|> ");
}

}  // namespace
}  // namespace ds::engine::tokenizer
