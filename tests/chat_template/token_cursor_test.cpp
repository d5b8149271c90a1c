// TokenCursor: walking a token list without running off its end, and the located syntax
// failures each parsing step raises in the house wording.
#include "engine/chat_template/token_cursor.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {
namespace {

// `x ( in 'abc' 7` then the end, at offsets 0, 2, 4, 7, 13, 14.
const std::vector<Token> kTokens = {{TokenKind::kName, "x", 0},      {TokenKind::kOperator, "(", 2},
                                    {TokenKind::kName, "in", 4},     {TokenKind::kString, "abc", 7},
                                    {TokenKind::kInteger, "7", 13},  {TokenKind::kEnd, "", 14}};

// The kSyntax failure `f` throws: "<offset>: <message>", or "" when it does not fail that way.
template <typename F>
std::string syntax_failure(F f) {
  try {
    f();
  } catch (const TemplateFailure& e) {
    if (e.kind() == FailureKind::kSyntax) return std::to_string(e.offset()) + ": " + e.what();
  }
  return "";
}

TEST(ChatTemplateTokenCursor, WalksTokensAndStopsAtTheEnd) {
  TokenCursor c(kTokens);
  EXPECT_EQ(c.previous().text, "x");  // nothing before the first token: itself
  EXPECT_EQ(c.peek().text, "(");
  EXPECT_EQ(c.peek(3).text, "abc");
  EXPECT_EQ(c.peek(100).kind, TokenKind::kEnd);
  EXPECT_EQ(c.advance().text, "x");  // returns the token it leaves
  EXPECT_EQ(c.current().text, "(");
  EXPECT_EQ(c.previous().text, "x");
  for (int i = 0; i < 10; ++i) c.advance();
  EXPECT_EQ(c.current().kind, TokenKind::kEnd);
  EXPECT_EQ(c.advance().kind, TokenKind::kEnd);
  EXPECT_EQ(c.current().offset, 14u);
}

TEST(ChatTemplateTokenCursor, AtOpAndAtNameCheckTheKind) {
  TokenCursor c(kTokens);
  EXPECT_TRUE(c.at_name("x"));
  EXPECT_FALSE(c.at_op("x"));
  c.advance();
  EXPECT_TRUE(c.at_op("("));
  EXPECT_FALSE(c.at_name("("));
  c.advance();
  EXPECT_TRUE(c.at_name("in"));
  c.advance();
  EXPECT_FALSE(c.at_name("abc"));  // a string literal is not a name
}

TEST(ChatTemplateTokenCursor, ExpectConsumesOrFailsAtTheOffendingToken) {
  TokenCursor c(kTokens);
  EXPECT_EQ(c.expect_name("in 'for' target"), "x");
  c.expect_op("(", "after the macro name");
  EXPECT_EQ(c.current().text, "in");
  EXPECT_EQ(syntax_failure([&] { c.expect_op(")", "in call"); }),
            "4: unexpected token in call (got 'in'); expected ')'");
  c.advance();
  EXPECT_EQ(syntax_failure([&] { c.expect_name("after '.'"); }),
            "7: unexpected token after '.' (got string 'abc'); expected a name");
  c.advance();
  EXPECT_EQ(syntax_failure([&] { c.expect_name("after '|'"); }),
            "13: unexpected token after '|' (got '7'); expected a name");
  c.advance();
  EXPECT_EQ(syntax_failure([&] { c.expect_op("]", "in list literal"); }),
            "14: unexpected token in list literal (got end of template); expected ']'");
}

TEST(ChatTemplateTokenCursor, FailWritesTheHouseWording) {
  const std::vector<Token> text = {{TokenKind::kText, "hi", 3}, {TokenKind::kEnd, "", 5}};
  const TokenCursor c(text);
  EXPECT_EQ(syntax_failure([&] { c.fail(c.current(), "unexpected token", "'{{'", "close the tag"); }),
            "3: unexpected token (got template text); expected '{{'; hint: close the tag");
  EXPECT_EQ(syntax_failure([&] { c.fail(c.current(), "bad", "", "fix it"); }),
            "3: bad (got template text); hint: fix it");
}

TEST(ChatTemplateTokenCursor, NestingStopsAtTheLimitAndRecovers) {
  TokenCursor c(kTokens);
  std::vector<std::unique_ptr<TokenCursor::Nesting>> held;
  for (int i = 0; i < TokenCursor::kMaxNesting; ++i) held.push_back(std::make_unique<TokenCursor::Nesting>(c));
  EXPECT_EQ(syntax_failure([&] { TokenCursor::Nesting one_more(c); }),
            "0: template nested too deeply (got 'x'); expected 200 levels at most");
  held.pop_back();  // one level freed: the failed attempt did not keep its level
  EXPECT_EQ(syntax_failure([&] { TokenCursor::Nesting fits(c); }), "");
}

}  // namespace
}  // namespace ds::engine::chat_template
