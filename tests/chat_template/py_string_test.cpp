// Python's str methods on UTF-8 text. Every expected value was computed with CPython 3
// (/usr/bin/python3), and the |title ones with Jinja2 3.1 (python3-jinja2).
#include "engine/chat_template/py_string.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ds::engine::chat_template {
namespace {

using Strings = std::vector<std::string>;

TEST(ChatTemplatePyString, CodePointsStripSplitSlice) {
  EXPECT_EQ(py::length("h\xC3\xA9\xF0\x9F\x98\x80"), 3u);
  EXPECT_EQ(py::strip("\xC2\xA0\t x \xE3\x80\x80", py::StripSide::kBoth), "x");
  EXPECT_EQ(py::strip("\xE2\x80\x8Bx", py::StripSide::kBoth), "\xE2\x80\x8Bx");  // U+200B is not whitespace
  EXPECT_EQ(py::strip("xxaxx", py::StripSide::kLeft, "x"), "axx");
  EXPECT_EQ(py::split(" a  b ", std::nullopt), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(py::split(" a b  c ", std::nullopt, 1), (std::vector<std::string>{"a", "b  c "}));
  EXPECT_EQ(py::split("a,,b", std::string(",")), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(py::rsplit("a b c", std::string(" "), 1), (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(py::slice("h\xC3\xA9llo", std::nullopt, std::nullopt, -1), "oll\xC3\xA9h");
  EXPECT_EQ(py::slice("hello", 1, -1, std::nullopt), "ell");
  EXPECT_EQ(py::replace("aaa", "a", "b", 2), "bba");
  EXPECT_EQ(py::title("hello wORLD-x"), "Hello World-X");
}

TEST(ChatTemplatePyString, Utf8EncodingAndCodePoints) {
  std::string out;  // chr(0x41), chr(0xE9), chr(0x20AC), chr(0x1F600) encoded as UTF-8
  for (const std::uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u}) py::append_utf8(cp, out);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  const auto cps = py::code_points(out);
  ASSERT_EQ(cps.size(), 4u);
  EXPECT_EQ(cps[2], "\xE2\x82\xAC");
  // Invalid or truncated sequences come out one byte each instead of swallowing what follows.
  EXPECT_EQ(py::code_points("\xFF" "a\xC3"), (std::vector<std::string_view>{"\xFF", "a", "\xC3"}));
  EXPECT_EQ(py::code_points("\xE2\x82" "a").size(), 3u);
  EXPECT_EQ(py::length(""), 0u);
}

TEST(ChatTemplatePyString, StripWithCharsWorksOnCodePoints) {
  EXPECT_EQ(py::strip("\xC3\xA9" "a\xC3\xA9", py::StripSide::kBoth, "\xC3\xA9"), "a");  // 'éaé'.strip('é')
  EXPECT_EQ(py::strip("xxaxx", py::StripSide::kRight, "x"), "xxa");
  EXPECT_EQ(py::strip("abcba", py::StripSide::kBoth, "ab"), "c");
  EXPECT_EQ(py::strip("  \n ", py::StripSide::kBoth), "");
  EXPECT_EQ(py::strip(" a ", py::StripSide::kBoth, ""), " a ");  // ' a '.strip('') strips nothing
}

TEST(ChatTemplatePyString, SplitRsplitAndSplitlines) {
  EXPECT_EQ(py::split("a,b,c", std::string(","), 1), (Strings{"a", "b,c"}));
  EXPECT_EQ(py::split("", std::nullopt), Strings{});
  EXPECT_EQ(py::split("", std::string(",")), (Strings{""}));
  EXPECT_EQ(py::split("  a b ", std::nullopt, 1), (Strings{"a", "b "}));
  EXPECT_EQ(py::rsplit("a,b,c", std::string(","), 0), (Strings{"a,b,c"}));
  EXPECT_EQ(py::rsplit(",a,", std::string(","), 5), (Strings{"", "a", ""}));
  EXPECT_EQ(py::rsplit("aXXbXXc", std::string("XX"), 1), (Strings{"aXXb", "c"}));
  EXPECT_EQ(py::splitlines("a\r\nb\rc\n\nd"), (Strings{"a", "b", "c", "", "d"}));
  EXPECT_EQ(py::splitlines("a\n"), (Strings{"a"}));
  EXPECT_EQ(py::splitlines(""), Strings{});
}

// Python: ' a b  c '.rsplit(None, 1) == [' a b', 'c'] — the head keeps its leading whitespace.
TEST(ChatTemplatePyString, RsplitOnWhitespaceSplitsFromTheRight) {
  EXPECT_EQ(py::rsplit(" a b  c ", std::nullopt, 1), (Strings{" a b", "c"}));
  EXPECT_EQ(py::rsplit("a b c", std::nullopt, 1), (Strings{"a b", "c"}));
  EXPECT_EQ(py::rsplit("a b c", std::nullopt, 0), (Strings{"a b c"}));
  EXPECT_EQ(py::rsplit("  a b  ", std::nullopt, 0), (Strings{"  a b"}));
  EXPECT_EQ(py::rsplit(" \t ", std::nullopt, 1), Strings{});
  EXPECT_EQ(py::rsplit("a\xC2\xA0" "b c", std::nullopt, 5), (Strings{"a", "b", "c"}));  // U+00A0 is whitespace
}

TEST(ChatTemplatePyString, ReplaceCountsAndEmptyPattern) {
  EXPECT_EQ(py::replace("ab", "", "-"), "-a-b-");
  EXPECT_EQ(py::replace("ab", "", "-", 2), "-a-b");
  EXPECT_EQ(py::replace("h\xC3\xA9", "", "|"), "|h|\xC3\xA9|");  // between code points, not bytes
  EXPECT_EQ(py::replace("aaaa", "aa", "b"), "bb");
  EXPECT_EQ(py::replace("abc", "x", "y"), "abc");
  EXPECT_EQ(py::replace("aaa", "a", "b", 0), "aaa");
}

TEST(ChatTemplatePyString, CaseMapping) {
  // 'straße' keeps its ß: the documented gap ('ß'.upper() is 'SS' in Python).
  EXPECT_EQ(py::upper("\xC3\xA0\xC3\xA9\xC3\xBF \xC4\x85\xC4\x8D\xC4\x99 \xCF\x89\xCE\xBC\xCE\xB5\xCE\xB3\xCE\xB1 "
                      "\xD0\xBF\xD1\x80\xD0\xB8 \xD1\x91\xD0\xB6 \xE4\xB8\xAD"),
            "\xC3\x80\xC3\x89\xC5\xB8 \xC4\x84\xC4\x8C\xC4\x98 \xCE\xA9\xCE\x9C\xCE\x95\xCE\x93\xCE\x91 "
            "\xD0\x9F\xD0\xA0\xD0\x98 \xD0\x81\xD0\x96 \xE4\xB8\xAD");  // 'àéÿ ąčę ωμεγα при ёж 中'.upper()
  EXPECT_EQ(py::lower("\xC3\x80\xC5\xB8\xC4\x84\xCE\xA9\xD0\x81\xD0\x96 ABC"),
            "\xC3\xA0\xC3\xBF\xC4\x85\xCF\x89\xD1\x91\xD0\xB6 abc");
  EXPECT_EQ(py::title("they're bill's 3rd-party caf\xC3\xA9"), "They'Re Bill'S 3Rd-Party Caf\xC3\xA9");
  EXPECT_EQ(py::capitalize("hELLO wORLD"), "Hello world");
  EXPECT_EQ(py::capitalize("\xC3\xA9" "COLE"), "\xC3\x89" "cole");
  // Jinja2's |title splits words at whitespace and - ( { [ < only.
  EXPECT_EQ(py::jinja_title("they're bill's 3rd-party (foo)[bar]{baz}<qux> x\tyZ"),
            "They're Bill's 3rd-Party (Foo)[Bar]{Baz}<Qux> X\tYz");
}

// Letters beyond the simple ASCII offsets, from Python: 'ı'.upper() is 'I', accented Greek vowels
// and Ukrainian 'ґ' change case too.
TEST(ChatTemplatePyString, CaseMappingCoversTurkishGreekAndUkrainianLetters) {
  EXPECT_EQ(py::upper("\xC4\xB1l\xC4\xB1k"), "ILIK");  // 'ılık'.upper()
  EXPECT_EQ(py::upper("\xCE\xBA\xCE\xB1\xCE\xBB\xCE\xB7\xCE\xBC\xCE\xAD\xCF\x81\xCE\xB1"),
            "\xCE\x9A\xCE\x91\xCE\x9B\xCE\x97\xCE\x9C\xCE\x88\xCE\xA1\xCE\x91");  // 'καλημέρα'.upper()
  EXPECT_EQ(py::upper("\xD2\x91"), "\xD2\x90");                                   // 'ґ'.upper()
  EXPECT_EQ(py::upper("\xC2\xB5\xC5\xBF"), "\xCE\x9CS");     // 'µſ'.upper() == 'ΜS'
  EXPECT_EQ(py::lower("\xC7\x84\xC7\x85"), "\xC7\x86\xC7\x86");  // 'Ǆǅ'.lower() == 'ǆǆ'
  EXPECT_EQ(py::upper("\xC7\x85"), "\xC7\x84");                // 'ǅ'.upper() == 'Ǆ'
}

TEST(ChatTemplatePyString, SlicesFollowPythonBounds) {
  EXPECT_EQ(py::slice("abcdef", -100, 100, 2), "ace");
  EXPECT_EQ(py::slice("abc", 5, std::nullopt, -1), "cba");
  EXPECT_EQ(py::slice("abcdef", std::nullopt, std::nullopt, -2), "fdb");
  EXPECT_EQ(py::slice("abcdef", 4, 1, -1), "edc");
  EXPECT_EQ(py::slice("abc", 2, 1, std::nullopt), "");
  EXPECT_EQ(py::slice("h\xC3\xA9llo", 1, 3, std::nullopt), "\xC3\xA9l");
  using Indices = std::vector<std::size_t>;  // list(range(5))[...]
  EXPECT_EQ(py::slice_indices(5, 1, -1, 2), (Indices{1, 3}));
  EXPECT_EQ(py::slice_indices(5, -1, -6, -2), (Indices{4, 2, 0}));
  EXPECT_EQ(py::slice_indices(5, std::nullopt, -10, std::nullopt), Indices{});
  EXPECT_EQ(py::slice_indices(5, 10, 0, -1), (Indices{4, 3, 2, 1}));
  EXPECT_EQ(py::slice_indices(5, std::nullopt, std::nullopt, 0), Indices{});  // caller reports step 0
}

}  // namespace
}  // namespace ds::engine::chat_template
