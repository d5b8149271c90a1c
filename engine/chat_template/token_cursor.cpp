#include "engine/chat_template/token_cursor.hpp"

#include "common/error.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd:
      return "end of template";
    case TokenKind::kText:
      return "template text";
    case TokenKind::kString:
      return "string '" + t.text + "'";
    default:
      return "'" + t.text + "'";
  }
}

}  // namespace

void TokenCursor::fail(const Token& at, const std::string& what, const std::string& expected,
                       const std::string& hint) const {
  throw TemplateFailure(FailureKind::kSyntax, format_error("", what, describe(at), expected, hint), at.offset);
}

void TokenCursor::expect_op(std::string_view op, const std::string& context) {
  if (!at_op(op)) fail(current(), "unexpected token " + context, "'" + std::string(op) + "'");
  advance();
}

TokenCursor::Nesting::Nesting(TokenCursor& cursor) : cursor_(cursor) {
  if (++cursor_.depth_ > kMaxNesting) {
    --cursor_.depth_;
    cursor_.fail(cursor_.current(), "template nested too deeply", std::to_string(kMaxNesting) + " levels at most");
  }
}

std::string TokenCursor::expect_name(const std::string& context) {
  if (current().kind != TokenKind::kName) fail(current(), "unexpected token " + context, "a name");
  return advance().text;
}

}  // namespace ds::engine::chat_template
