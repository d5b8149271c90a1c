// The lexer: token kinds and offsets, literals, and Jinja's source normalization.
#include "engine/chat_template/lexer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {
namespace {

std::string kinds(const std::vector<Token>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    switch (t.kind) {
      case TokenKind::kText:
        out += "T(" + t.text + ")";
        break;
      case TokenKind::kVarBegin:
        out += "{{";
        break;
      case TokenKind::kVarEnd:
        out += "}}";
        break;
      case TokenKind::kBlockBegin:
        out += "{%";
        break;
      case TokenKind::kBlockEnd:
        out += "%}";
        break;
      case TokenKind::kName:
        out += "N(" + t.text + ")";
        break;
      case TokenKind::kString:
        out += "S(" + t.text + ")";
        break;
      case TokenKind::kInteger:
        out += "I(" + t.text + ")";
        break;
      case TokenKind::kFloat:
        out += "F(" + t.text + ")";
        break;
      case TokenKind::kOperator:
        out += "O(" + t.text + ")";
        break;
      case TokenKind::kEnd:
        out += "$";
        break;
    }
  }
  return out;
}

TEST(ChatTemplateLexer, TokensOfTagsAndText) {
  EXPECT_EQ(kinds(tokenize("a{{ x.y[0] | f(1_000, 2.5e3) }}b")),
            "T(a){{N(x)O(.)N(y)O([)I(0)O(])O(|)N(f)O(()I(1000)O(,)F(2.5e3)O())}}T(b)$");
  EXPECT_EQ(kinds(tokenize("{% if a // b ** 2 != 'x\\n' %}")), "{%N(if)N(a)O(//)N(b)O(**)I(2)O(!=)S(x\n)%}$");
  EXPECT_EQ(kinds(tokenize("{{ {'a': {'b': 1}} }}")), "{{O({)S(a)O(:)O({)S(b)O(:)I(1)O(})O(})}}$");
  EXPECT_EQ(kinds(tokenize("{# c #}x")), "T(x)$");
}

TEST(ChatTemplateLexer, OffsetsPointIntoTheSource) {
  const auto tokens = tokenize("ab\n{{ name }}");
  ASSERT_GE(tokens.size(), 3u);
  EXPECT_EQ(tokens[1].offset, 3u);  // {{
  EXPECT_EQ(tokens[2].offset, 6u);  // name
  EXPECT_EQ(locate("ab\n{{ name }}", 6).line, 2u);
  EXPECT_EQ(locate("ab\n{{ name }}", 6).column, 4u);
}

TEST(ChatTemplateLexer, NormalizesNewlinesAndDropsOneTrailingNewline) {
  EXPECT_EQ(normalize_source("a\r\nb\rc\n"), "a\nb\nc");
  EXPECT_EQ(normalize_source("a\n\n"), "a\n");
}

TEST(ChatTemplateLexer, OptionsOffIsPlainJinja) {
  const LexerOptions plain{.trim_blocks = false, .lstrip_blocks = false};
  EXPECT_EQ(kinds(tokenize("  {% if x %}\nA", plain)), "T(  ){%N(if)N(x)%}T(\nA)$");
  EXPECT_EQ(kinds(tokenize("  {% if x %}\nA")), "{%N(if)N(x)%}T(A)$");
}

TEST(ChatTemplateLexer, UnclosedPiecesFailAtTheirStart) {
  try {
    tokenize("ab {{ x");
    FAIL();
  } catch (const TemplateFailure& f) {
    EXPECT_EQ(f.offset(), 3u);
    EXPECT_STREQ(f.what(), "unclosed tag: '{{' has no matching '}}'");
  }
}

}  // namespace
}  // namespace ds::engine::chat_template
