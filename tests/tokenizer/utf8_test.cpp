// UTF-8 helpers: what counts as an unfinished character (StreamDecoder waits for it) and how
// invalid bytes become U+FFFD (one per maximal invalid subpart, like Rust and TextDecoder).
#include "engine/tokenizer/utf8.hpp"

#include <gtest/gtest.h>

namespace ds::engine::tokenizer {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8, IncompleteTailIsOnlyAStartThatMoreBytesCanFinish) {
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
  EXPECT_EQ(incomplete_utf8_tail("abc"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F\x98\x80"), 0u);  // 😀 complete
  EXPECT_EQ(incomplete_utf8_tail("\xE4\xBD"), 2u);          // 你 without its last byte
  EXPECT_EQ(incomplete_utf8_tail("a\x80"), 0u);             // a stray continuation never completes
  EXPECT_EQ(incomplete_utf8_tail("a\xFF"), 0u);             // never valid
  EXPECT_EQ(incomplete_utf8_tail("a\xE0\x80"), 0u);         // overlong start
  EXPECT_EQ(incomplete_utf8_tail("a\xED\xA0"), 0u);         // surrogate
}

TEST(Utf8, InvalidBytesBecomeOneReplacementPerMaximalSubpart) {
  EXPECT_EQ(to_valid_utf8("h\xC3\xA9"), "h\xC3\xA9");
  EXPECT_EQ(to_valid_utf8("a\xFF" "b"), "a" + kReplacement + "b");
  EXPECT_EQ(to_valid_utf8("a\xF0\x9F\x98" "b"), "a" + kReplacement + "b");  // cut-off emoji: one U+FFFD
  EXPECT_EQ(to_valid_utf8("\x80\x80"), kReplacement + kReplacement);
  EXPECT_EQ(to_valid_utf8("\xE4\xBD"), kReplacement);
  EXPECT_TRUE(is_valid_utf8("Grüße 你好 😀"));
  EXPECT_FALSE(is_valid_utf8("a\xF0\x9F\x98"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));  // overlong '/'
  EXPECT_TRUE(is_ascii("plain text\n"));
  EXPECT_FALSE(is_ascii("é"));
}

TEST(Utf8, AppendsCodePoints) {
  std::string s;
  for (char32_t cp : {U'A', U'é', U'你', U'😀'}) append_utf8(s, cp);
  EXPECT_EQ(s, "Aé你😀");
}

}  // namespace
}  // namespace ds::engine::tokenizer
