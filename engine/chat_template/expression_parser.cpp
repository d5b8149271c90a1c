#include "engine/chat_template/expression_parser.hpp"

#include <algorithm>
#include <set>

#include "common/suggest.hpp"
#include "engine/chat_template/filters.hpp"

namespace ds::engine::chat_template {

namespace {

ExprPtr make(ExprKind kind, std::size_t offset) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->offset = offset;
  return e;
}

ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, std::size_t offset) {
  auto e = make(ExprKind::kBinary, offset);
  e->op = op;
  e->args.push_back(std::move(left));
  e->args.push_back(std::move(right));
  return e;
}

}  // namespace

// An expression, or a bare tuple `a, b` (a list here).
ExprPtr ExpressionParser::parse_tuple(bool with_condition) {
  const std::size_t offset = current().offset;
  ExprPtr first = with_condition ? parse_expression() : parse_or();
  if (!at_op(",")) return first;
  auto list = make(ExprKind::kList, offset);
  list->args.push_back(std::move(first));
  while (at_op(",")) {
    advance();
    if (current().kind == TokenKind::kBlockEnd || current().kind == TokenKind::kVarEnd) break;
    list->args.push_back(with_condition ? parse_expression() : parse_or());
  }
  return list;
}

ExprPtr ExpressionParser::parse_expression() {
  const Nesting nesting(*this);
  ExprPtr e = parse_or();
  while (at_name("if")) {
    const std::size_t offset = advance().offset;
    auto cond = make(ExprKind::kCondition, offset);
    cond->args.push_back(std::move(e));
    cond->args.push_back(parse_or());
    if (at_name("else")) {
      advance();
      cond->args.push_back(parse_expression());
    } else {
      cond->args.push_back(nullptr);
    }
    e = std::move(cond);
  }
  return e;
}

// One left-associative level of the grammar: next (op next)*. `and`/`or` are name tokens, the
// rest operators; string literals never match.
ExprPtr ExpressionParser::parse_level(std::initializer_list<std::string_view> ops,
                                      ExprPtr (ExpressionParser::*next)()) {
  ExprPtr e = (this->*next)();
  while (current().kind == TokenKind::kOperator || current().kind == TokenKind::kName) {
    const Token& op = current();
    if (std::find(ops.begin(), ops.end(), op.text) == ops.end()) break;
    advance();
    e = binary(op.text, std::move(e), (this->*next)(), op.offset);
  }
  return e;
}

ExprPtr ExpressionParser::parse_or() { return parse_level({"or"}, &ExpressionParser::parse_and); }
ExprPtr ExpressionParser::parse_and() { return parse_level({"and"}, &ExpressionParser::parse_not); }
ExprPtr ExpressionParser::parse_not() {
  if (!at_name("not")) return parse_compare();
  const Nesting nesting(*this);  // `not not ... x` recurses once per `not`
  auto e = make(ExprKind::kUnary, advance().offset);
  e->op = "not";
  e->args.push_back(parse_not());
  return e;
}

ExprPtr ExpressionParser::parse_compare() {
  const std::size_t offset = current().offset;
  ExprPtr first = parse_math1();
  auto cmp = make(ExprKind::kCompare, offset);
  while (true) {
    static const std::set<std::string> ops = {"==", "!=", "<", "<=", ">", ">="};
    if (current().kind == TokenKind::kOperator && ops.count(current().text)) {
      cmp->ops.push_back(advance().text);
    } else if (at_name("in")) {
      advance();
      cmp->ops.push_back("in");
    } else if (at_name("not") && peek().kind == TokenKind::kName && peek().text == "in") {
      advance();
      advance();
      cmp->ops.push_back("not in");
    } else {
      break;
    }
    if (cmp->args.empty()) cmp->args.push_back(std::move(first));
    cmp->args.push_back(parse_math1());
  }
  return cmp->ops.empty() ? std::move(first) : std::move(cmp);
}

ExprPtr ExpressionParser::parse_math1() { return parse_level({"+", "-"}, &ExpressionParser::parse_concat); }
ExprPtr ExpressionParser::parse_concat() { return parse_level({"~"}, &ExpressionParser::parse_math2); }
ExprPtr ExpressionParser::parse_math2() { return parse_level({"*", "/", "//", "%"}, &ExpressionParser::parse_pow); }
ExprPtr ExpressionParser::parse_pow() { return parse_level({"**"}, &ExpressionParser::parse_unary_filtered); }
ExprPtr ExpressionParser::parse_unary_filtered() { return parse_unary(true); }

ExprPtr ExpressionParser::parse_unary(bool with_filter) {
  ExprPtr e;
  if (at_op("-") || at_op("+")) {
    const Nesting nesting(*this);  // `- - x` recurses once per sign
    const Token& op = advance();
    e = make(ExprKind::kUnary, op.offset);
    e->op = op.text;
    e->args.push_back(parse_unary(false));
  } else {
    e = parse_primary();
  }
  e = parse_postfix(std::move(e));
  return with_filter ? parse_filters(std::move(e)) : std::move(e);
}

ExprPtr ExpressionParser::parse_primary() {
  const Token& t = current();
  switch (t.kind) {
    case TokenKind::kName: {
      advance();
      auto e = make(ExprKind::kLiteral, t.offset);
      if (t.text == "true" || t.text == "True")
        e->literal = Value(true);
      else if (t.text == "false" || t.text == "False")
        e->literal = Value(false);
      else if (t.text == "none" || t.text == "None")
        e->literal = Value(nullptr);
      else {
        e->kind = ExprKind::kName;
        e->name = t.text;
      }
      return e;
    }
    case TokenKind::kString: {
      auto e = make(ExprKind::kLiteral, t.offset);
      std::string s;
      while (current().kind == TokenKind::kString) s += advance().text;  // 'a' 'b' is 'ab'
      e->literal = Value(std::move(s));
      return e;
    }
    case TokenKind::kInteger: {
      advance();
      auto e = make(ExprKind::kLiteral, t.offset);
      try {
        e->literal = Value(static_cast<std::int64_t>(std::stoll(t.text)));
      } catch (const std::out_of_range&) {
        fail(t, "integer literal out of range", "a value that fits in 64 bits");
      }
      return e;
    }
    case TokenKind::kFloat: {
      advance();
      auto e = make(ExprKind::kLiteral, t.offset);
      e->literal = Value(std::strtod(t.text.c_str(), nullptr));  // 1e999 is inf, as in Python
      return e;
    }
    case TokenKind::kOperator:
      if (t.text == "(") return parse_parenthesized();
      if (t.text == "[") return parse_list();
      if (t.text == "{") return parse_dict();
      break;
    default:
      break;
  }
  fail(t, "expected an expression", "a name, a literal, '(', '[' or '{'");
}

ExprPtr ExpressionParser::parse_parenthesized() {
  const std::size_t offset = advance().offset;  // (
  if (at_op(")")) {
    advance();
    return make(ExprKind::kList, offset);
  }
  ExprPtr first = parse_expression();
  if (at_op(")")) {
    advance();
    return first;
  }
  auto list = make(ExprKind::kList, offset);
  list->args.push_back(std::move(first));
  while (at_op(",")) {
    advance();
    if (at_op(")")) break;
    list->args.push_back(parse_expression());
  }
  expect_op(")", "in parenthesized expression");
  return list;
}

ExprPtr ExpressionParser::parse_list() {
  auto list = make(ExprKind::kList, advance().offset);  // [
  while (!at_op("]")) {
    if (!list->args.empty()) expect_op(",", "in list literal");
    if (at_op("]")) break;
    list->args.push_back(parse_expression());
  }
  advance();
  return list;
}

ExprPtr ExpressionParser::parse_dict() {
  auto dict = make(ExprKind::kDict, advance().offset);  // {
  while (!at_op("}")) {
    if (!dict->args.empty()) expect_op(",", "in dict literal");
    if (at_op("}")) break;
    dict->args.push_back(parse_expression());
    expect_op(":", "in dict literal");
    dict->args.push_back(parse_expression());
  }
  advance();
  return dict;
}

ExprPtr ExpressionParser::parse_postfix(ExprPtr e) {
  while (true) {
    if (at_op(".")) {
      const std::size_t offset = advance().offset;
      if (current().kind == TokenKind::kInteger) {  // x.0 is x[0]
        auto item = make(ExprKind::kGetItem, offset);
        item->args.push_back(std::move(e));
        item->args.push_back(parse_primary());
        e = std::move(item);
        continue;
      }
      auto attr = make(ExprKind::kGetAttr, offset);
      attr->name = expect_name("after '.'");
      attr->args.push_back(std::move(e));
      e = std::move(attr);
    } else if (at_op("[")) {
      e = parse_subscript(std::move(e));
    } else if (at_op("(")) {
      e = parse_call(std::move(e));
    } else {
      return e;
    }
  }
}

ExprPtr ExpressionParser::parse_subscript(ExprPtr target) {
  const std::size_t offset = advance().offset;  // [
  ExprPtr bounds[3];
  bool is_slice = false;
  for (int part = 0; part < 3; ++part) {
    if (!at_op(":") && !at_op("]")) bounds[part] = parse_expression();
    if (part < 2 && at_op(":")) {
      advance();
      is_slice = true;
    } else {
      break;
    }
  }
  expect_op("]", "in subscript");
  auto e = make(is_slice ? ExprKind::kSlice : ExprKind::kGetItem, offset);
  e->args.push_back(std::move(target));
  if (!is_slice && !bounds[0]) fail(previous(), "empty subscript", "an index or a slice");
  for (int part = 0; part < (is_slice ? 3 : 1); ++part) e->args.push_back(std::move(bounds[part]));
  return e;
}

// Arguments of a call, filter or test: positional then name=value.
void ExpressionParser::parse_call_args(Expr& e) {
  advance();  // (
  while (!at_op(")")) {
    if (e.args.size() > 1 || !e.kwargs.empty()) expect_op(",", "between arguments");
    if (at_op(")")) break;
    if (at_op("*") || at_op("**")) fail(current(), "unsupported *args/**kwargs in a call", "plain arguments");
    if (current().kind == TokenKind::kName && peek().kind == TokenKind::kOperator && peek().text == "=") {
      std::string name = advance().text;
      advance();
      e.kwargs.emplace_back(std::move(name), parse_expression());
    } else {
      if (!e.kwargs.empty()) fail(current(), "positional argument after keyword argument", "name=value");
      e.args.push_back(parse_expression());
    }
  }
  advance();  // )
}

ExprPtr ExpressionParser::parse_call(ExprPtr callee) {
  auto e = make(ExprKind::kCall, current().offset);
  e->args.push_back(std::move(callee));
  parse_call_args(*e);
  return e;
}

ExprPtr ExpressionParser::parse_filters(ExprPtr e) {
  while (true) {
    if (at_op("|")) {
      advance();
      const Token& name = current();
      auto f = make(ExprKind::kFilter, name.offset);
      f->name = expect_name("after '|'");
      const auto& names = filter_names();
      if (std::find(names.begin(), names.end(), f->name) == names.end())
        fail(name, "unknown filter '" + f->name + "'" + did_you_mean(f->name, names), "");
      f->args.push_back(std::move(e));
      if (at_op("(")) parse_call_args(*f);
      e = std::move(f);
    } else if (at_name("is")) {
      advance();
      auto t = make(ExprKind::kTest, current().offset);
      if (at_name("not")) {
        advance();
        t->op = "not";
      }
      const Token& name = current();
      t->name = expect_name("after 'is'");
      const auto& names = test_names();
      if (std::find(names.begin(), names.end(), t->name) == names.end())
        fail(name, "unknown test '" + t->name + "'" + did_you_mean(t->name, names), "");
      t->args.push_back(std::move(e));
      if (at_op("(")) {
        parse_call_args(*t);
      } else if ((current().kind == TokenKind::kName && !at_name("else") && !at_name("or") && !at_name("and") &&
                  !at_name("if")) ||
                 current().kind == TokenKind::kString || current().kind == TokenKind::kInteger ||
                 current().kind == TokenKind::kFloat || at_op("[") || at_op("{")) {
        t->args.push_back(parse_postfix(parse_primary()));  // `x is divisibleby 3`
      }
      e = std::move(t);
    } else if (at_op("(")) {
      e = parse_call(std::move(e));
    } else {
      return e;
    }
  }
}

}  // namespace ds::engine::chat_template
