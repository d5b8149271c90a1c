// Expressions, following Jinja's grammar and operator precedence (lowest first): `a if c else b`,
// or, and, not, comparisons and `in`, + -, ~, * / // %, **, unary - +, then postfix access,
// calls, `|filter` and `is test`. Filter and test names are checked here, so a typo fails when
// the template is loaded rather than on the first request that reaches it.
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat_template/ast.hpp"
#include "engine/chat_template/token_cursor.hpp"

namespace ds::engine::chat_template {

/// Parses expressions at the cursor; the statement parser builds on it.
class ExpressionParser : public TokenCursor {
 public:
  using TokenCursor::TokenCursor;

  /// A full expression, inline `if` included.
  ExprPtr parse_expression();
  /// An expression or a bare tuple `a, b` (a list here); `with_condition` false stops before
  /// `if`, as `for x in xs if cond` needs.
  ExprPtr parse_tuple(bool with_condition);
  /// An expression without inline `if`.
  ExprPtr parse_or();

 private:
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_level(std::initializer_list<std::string_view> ops, ExprPtr (ExpressionParser::*next)());
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_unary_filtered();
  ExprPtr parse_primary();
  ExprPtr parse_parenthesized();
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_subscript(ExprPtr target);
  void parse_call_args(Expr& e);
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_filters(ExprPtr e);
};

}  // namespace ds::engine::chat_template
