// The expression parser: Jinja's precedence and associativity, written out as a tree, and the
// located syntax errors for malformed expressions. Where the shape decides a value, the value is
// what Jinja2 3.1 (Debian's python3-jinja2) renders: `2 ** 3 ** 2` is 64 (left-associative),
// `-2|abs` is 2 (the filter takes the negation) and `'a' ~ 1 + 2` fails because ~ binds tighter.
#include "engine/chat_template/expression_parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "engine/chat_template/lexer.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {
namespace {

std::string tree(const Expr* e);

std::string args_of(const Expr& e, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < e.args.size(); ++i) out += " " + tree(e.args[i].get());
  for (const auto& [name, value] : e.kwargs) out += " " + name + "=" + tree(value.get());
  return out;
}

// An S-expression of the tree: (op left right), (call f args), (|filter x args), _ for null.
std::string tree(const Expr* e) {
  if (e == nullptr) return "_";
  switch (e->kind) {
    case ExprKind::kLiteral:
      return to_repr(e->literal);
    case ExprKind::kName:
      return e->name;
    case ExprKind::kList:
      return "[" + args_of(*e, 0) + " ]";
    case ExprKind::kDict:
      return "{" + args_of(*e, 0) + " }";
    case ExprKind::kGetAttr:
      return "(. " + tree(e->args[0].get()) + " " + e->name + ")";
    case ExprKind::kGetItem:
      return "([]" + args_of(*e, 0) + ")";
    case ExprKind::kSlice:
      return "([:]" + args_of(*e, 0) + ")";
    case ExprKind::kCall:
      return "(call" + args_of(*e, 0) + ")";
    case ExprKind::kFilter:
      return "(|" + e->name + args_of(*e, 0) + ")";
    case ExprKind::kTest:
      return "(is " + (e->op.empty() ? "" : e->op + " ") + e->name + args_of(*e, 0) + ")";
    case ExprKind::kUnary:
    case ExprKind::kBinary:
      return "(" + e->op + args_of(*e, 0) + ")";
    case ExprKind::kCompare: {
      std::string out = "(cmp " + tree(e->args[0].get());
      for (std::size_t i = 0; i < e->ops.size(); ++i) out += " " + e->ops[i] + " " + tree(e->args[i + 1].get());
      return out + ")";
    }
    case ExprKind::kCondition:
      return "(if" + args_of(*e, 0) + ")";
  }
  return "?";
}

// Parses `{{ source }}` as an output tag does (a bare tuple allowed) and checks it ends there.
std::string parse(const std::string& source) {
  const auto tokens = tokenize("{{ " + source + " }}");
  ExpressionParser p(tokens);
  p.advance();  // {{
  const ExprPtr e = p.parse_tuple(true);
  if (p.current().kind != TokenKind::kVarEnd) return "stopped at '" + p.current().text + "'";
  return tree(e.get());
}

// "<column>: <message>" of the syntax failure parsing `{{ source }}` (column 1 is the source's first byte).
std::string failure(const std::string& source) {
  try {
    return "parsed: " + parse(source);
  } catch (const TemplateFailure& e) {
    return std::to_string(e.offset() - 2) + ": " + e.what();
  }
}

TEST(ChatTemplateExpressionParser, PrecedenceAndAssociativityAreJinjas) {
  EXPECT_EQ(parse("1 + 2 * 3 ** 2"), "(+ 1 (* 2 (** 3 2)))");
  EXPECT_EQ(parse("2 ** 3 ** 2"), "(** (** 2 3) 2)");
  EXPECT_EQ(parse("'a' ~ 1 + 2"), "(+ (~ 'a' 1) 2)");
  EXPECT_EQ(parse("-2|abs"), "(|abs (- 2))");
  EXPECT_EQ(parse("a or b and not c == d"), "(or a (and b (not (cmp c == d))))");
  EXPECT_EQ(parse("1 < x <= 3"), "(cmp 1 < x <= 3)");
  EXPECT_EQ(parse("a not in b"), "(cmp a not in b)");
  EXPECT_EQ(parse("a if b else c if d"), "(if a b (if c d _))");
  EXPECT_EQ(parse("x is not divisibleby 3 and y is defined"), "(and (is not divisibleby x 3) (is defined y))");
  EXPECT_EQ(parse("x|default('y')|upper"), "(|upper (|default x 'y'))");
}

TEST(ChatTemplateExpressionParser, PostfixLiteralsAndTuples) {
  EXPECT_EQ(parse("m.content[0].x.1"), "([] (. ([] (. m content) 0) x) 1)");
  EXPECT_EQ(parse("f(1, k=2)(3)"), "(call (call f 1 k=2) 3)");
  EXPECT_EQ(parse("xs[1:]"), "([:] xs 1 _ _)");
  EXPECT_EQ(parse("xs[::-1]"), "([:] xs _ _ (- 1))");
  EXPECT_EQ(parse("'a' \"b\""), "'ab'");  // adjacent strings join
  EXPECT_EQ(parse("(1)"), "1");
  EXPECT_EQ(parse("()"), "[ ]");
  EXPECT_EQ(parse("(1, 2,)"), "[ 1 2 ]");
  EXPECT_EQ(parse("a, b,"), "[ a b ]");
  EXPECT_EQ(parse("{'a': [true, None], 'b': 1.5}"), "{ 'a' [ True None ] 'b' 1.5 }");
  EXPECT_EQ(parse("1e999"), "inf");
  EXPECT_EQ(parse("9223372036854775807"), "9223372036854775807");
}

TEST(ChatTemplateExpressionParser, MalformedExpressionsFailAtTheOffendingToken) {
  EXPECT_EQ(failure("x|trimm"), "3: unknown filter 'trimm'; did you mean 'trim'? (got 'trimm')");
  EXPECT_EQ(failure("x is frobbed"), "6: unknown test 'frobbed' (got 'frobbed')");
  EXPECT_EQ(failure("1 +"), "5: expected an expression (got '}}'); expected a name, a literal, '(', '[' or '{'");
  EXPECT_EQ(failure("[1 2]"), "4: unexpected token in list literal (got '2'); expected ','");
  EXPECT_EQ(failure("{'a' 1}"), "6: unexpected token in dict literal (got '1'); expected ':'");
  EXPECT_EQ(failure("(1 2)"), "4: unexpected token in parenthesized expression (got '2'); expected ')'");
  EXPECT_EQ(failure("x."), "4: unexpected token after '.' (got '}}'); expected a name");
  EXPECT_EQ(failure("xs[]"), "4: empty subscript (got ']'); expected an index or a slice");
  EXPECT_EQ(failure("f(a=1, 2)"), "8: positional argument after keyword argument (got '2'); expected name=value");
  EXPECT_EQ(failure("f(**kw)"), "3: unsupported *args/**kwargs in a call (got '**'); expected plain arguments");
  EXPECT_EQ(failure("99999999999999999999"),
            "1: integer literal out of range (got '99999999999999999999'); expected a value that fits in 64 bits");
}

}  // namespace
}  // namespace ds::engine::chat_template
