#include "engine/chat_template/parser.hpp"

#include <algorithm>
#include <set>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "engine/chat_template/filters.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

// Jinja tags this interpreter does not implement, with why a chat template does not need them.
const std::vector<std::pair<std::string, std::string>>& unsupported_tags() {
  static const std::vector<std::pair<std::string, std::string>> tags = {
      {"extends", "a chat template is one self-contained string; inline the parent template"},
      {"block", "a chat template is one self-contained string; inline the block"},
      {"include", "a chat template is one self-contained string; inline the included template"},
      {"import", "a chat template is one self-contained string; define the macros in it"},
      {"from", "a chat template is one self-contained string; define the macros in it"},
      {"filter", "apply the filter to an expression: {{ value | name }}"},
      {"with", "use {% set %} instead"},
      {"autoescape", "chat templates render without HTML escaping; remove the tag"},
      {"do", "Hugging Face does not enable the 'do' extension either; use {% set %}"},
      {"trans", "the i18n extension is not enabled for chat templates"},
  };
  return tags;
}

const std::vector<std::string>& statement_tags() {
  static const std::vector<std::string> tags = {"if", "elif", "else", "endif", "for", "endfor", "set",
                                                "endset", "macro", "endmacro", "break", "continue",
                                                "generation", "endgeneration", "call", "endcall", "raw", "endraw"};
  return tags;
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd: return "end of template";
    case TokenKind::kText: return "template text";
    case TokenKind::kString: return "string '" + t.text + "'";
    case TokenKind::kName: return "'" + t.text + "'";
    default: return "'" + t.text + "'";
  }
}

StmtPtr new_stmt(StmtKind kind, std::size_t offset) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->offset = offset;
  return s;
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Body parse() {
    Body body = parse_body({});
    return body;
  }

 private:
  // ---- token helpers ----
  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(std::size_t ahead = 1) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool at_op(std::string_view op) const { return current().kind == TokenKind::kOperator && current().text == op; }
  bool at_name(std::string_view name) const { return current().kind == TokenKind::kName && current().text == name; }

  [[noreturn]] void fail(const Token& at, const std::string& what, const std::string& expected,
                         const std::string& hint = {}) const {
    throw TemplateFailure(FailureKind::kSyntax, format_error("", what, describe(at), expected, hint), at.offset);
  }
  void expect_op(std::string_view op, const std::string& context) {
    if (!at_op(op)) fail(current(), "unexpected token " + context, "'" + std::string(op) + "'");
    advance();
  }
  std::string expect_name(const std::string& context) {
    if (current().kind != TokenKind::kName) fail(current(), "unexpected token " + context, "a name");
    return advance().text;
  }
  void expect_block_end(const std::string& tag) {
    if (current().kind != TokenKind::kBlockEnd)
      fail(current(), "unexpected token in '" + tag + "' tag", "'%}' to end the tag");
    advance();
  }

  // ---- statements ----
  // Parses until `{% <stop> %}` for a stop tag (left unconsumed) or the end of the template.
  Body parse_body(const std::vector<std::string>& stops) {
    Body body;
    while (true) {
      const Token& t = current();
      if (t.kind == TokenKind::kEnd) return body;
      if (t.kind == TokenKind::kText) {
        auto s = new_stmt(StmtKind::kText, t.offset);
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.kind == TokenKind::kVarBegin) {
        advance();
        auto s = new_stmt(StmtKind::kOutput, t.offset);
        s->expr = parse_tuple(true);
        if (current().kind != TokenKind::kVarEnd) fail(current(), "unexpected token in '{{ }}'", "'}}'");
        advance();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::kBlockBegin) {
        const Token& tag = peek();
        if (tag.kind == TokenKind::kName && std::find(stops.begin(), stops.end(), tag.text) != stops.end()) return body;
        body.push_back(parse_statement());
      } else {
        fail(t, "unexpected token", "template text, '{{' or '{%'");
      }
    }
  }

  // Parses a nested body and the tag that ends it; returns that tag's name.
  std::string parse_until(Body& body, const std::vector<std::string>& stops, const Token& opener,
                          const std::string& opener_name) {
    body = parse_body(stops);
    if (current().kind == TokenKind::kEnd) {
      throw TemplateFailure(FailureKind::kSyntax,
                            format_error("", "'" + opener_name + "' block is never closed", "end of template",
                                         "'{% " + stops.back() + " %}'",
                                         "every {% " + opener_name + " %} needs a matching {% " + stops.back() + " %}"),
                            opener.offset);
    }
    advance();  // {%
    return advance().text;
  }

  // name (, name)*: the targets of for and set.
  void parse_names(std::vector<std::string>& names, const std::string& context) {
    names.push_back(expect_name(context));
    while (at_op(",")) {
      advance();
      names.push_back(expect_name(context));
    }
  }

  // After a body that ended at tag `end`: an optional {% else %} body, then {% end<tag> %}.
  void finish_block(Stmt& s, const std::string& end, const Token& open, const std::string& tag) {
    const std::string closer = "end" + tag;
    if (end == "else") {
      expect_block_end("else");
      parse_until(s.else_body, {closer}, open, tag);
    }
    expect_block_end(closer);
  }

  StmtPtr parse_statement() {
    const Token& open = advance();  // {%
    const Token& tag = current();
    if (tag.kind != TokenKind::kName) fail(tag, "expected a tag name after '{%'", "a tag such as 'if', 'for' or 'set'");
    const std::string name = tag.text;
    for (const auto& [unsupported, hint] : unsupported_tags())
      if (name == unsupported) fail(tag, "unsupported tag '" + name + "'", "", hint);
    if (name == "if") return parse_if(open);
    if (name == "for") return parse_for(open);
    if (name == "set") return parse_set(open);
    if (name == "macro") return parse_macro(open);
    if (name == "call") return parse_call_block(open);
    if (name == "break" || name == "continue") {
      advance();
      expect_block_end(name);
      return new_stmt(name == "break" ? StmtKind::kBreak : StmtKind::kContinue, open.offset);
    }
    if (name == "generation") {
      advance();
      expect_block_end(name);
      auto s = new_stmt(StmtKind::kScope, open.offset);
      parse_until(s->body, {"endgeneration"}, open, "generation");
      expect_block_end("endgeneration");
      return s;
    }
    if (std::find(statement_tags().begin(), statement_tags().end(), name) != statement_tags().end())
      fail(tag, "unexpected '" + name + "' tag", "", "no open block here takes it; check the nesting of the tags above");
    fail(tag, "unknown tag '" + name + "'" + did_you_mean(name, statement_tags()), "");
  }

  StmtPtr parse_if(const Token& open) {
    auto s = new_stmt(StmtKind::kIf, open.offset);
    advance();  // if
    ExprPtr condition = parse_expression();
    expect_block_end("if");
    while (true) {
      Body body;
      const std::string end = parse_until(body, {"elif", "else", "endif"}, open, "if");
      s->branches.emplace_back(std::move(condition), std::move(body));
      if (end == "elif") {
        condition = parse_expression();
        expect_block_end("elif");
        continue;
      }
      finish_block(*s, end, open, "if");
      return s;
    }
  }

  StmtPtr parse_for(const Token& open) {
    auto s = new_stmt(StmtKind::kFor, open.offset);
    advance();  // for
    const bool parens = at_op("(");
    if (parens) advance();
    parse_names(s->targets, "in 'for' target");
    if (parens) expect_op(")", "in 'for' target");
    if (!at_name("in")) fail(current(), "unexpected token in 'for' tag", "'in'");
    advance();
    s->expr = parse_tuple(false);
    if (at_name("if")) {
      advance();
      s->condition = parse_expression();
    }
    if (at_name("recursive")) fail(current(), "unsupported recursive loop", "", "flatten the data before the loop");
    expect_block_end("for");
    finish_block(*s, parse_until(s->body, {"else", "endfor"}, open, "for"), open, "for");
    return s;
  }

  StmtPtr parse_set(const Token& open) {
    auto s = new_stmt(StmtKind::kSet, open.offset);
    advance();  // set
    s->targets.push_back(expect_name("in 'set' target"));
    if (at_op(".")) {
      advance();
      s->attribute = expect_name("after '.' in 'set' target");
    } else if (at_op(",")) {
      advance();
      parse_names(s->targets, "in 'set' target");
    }
    if (at_op("=")) {
      advance();
      s->expr = parse_tuple(true);
      expect_block_end("set");
      return s;
    }
    if (s->targets.size() != 1 || !s->attribute.empty() || current().kind != TokenKind::kBlockEnd)
      fail(current(), "unexpected token in 'set' tag", "'=' or '%}'");
    advance();
    s->kind = StmtKind::kSetBlock;
    parse_until(s->body, {"endset"}, open, "set");
    expect_block_end("endset");
    return s;
  }

  StmtPtr parse_macro(const Token& open) {
    auto s = new_stmt(StmtKind::kMacro, open.offset);
    advance();  // macro
    s->name = expect_name("after 'macro'");
    expect_op("(", "after the macro name");
    while (!at_op(")")) {
      if (!s->params.empty()) expect_op(",", "between macro parameters");
      if (at_op(")")) break;
      MacroParam param{expect_name("in macro parameters"), nullptr};
      if (at_op("=")) {
        advance();
        param.default_value = parse_expression();
      }
      s->params.push_back(std::move(param));
    }
    advance();  // )
    expect_block_end("macro");
    parse_until(s->body, {"endmacro"}, open, "macro");
    if (current().kind == TokenKind::kName) advance();  // {% endmacro name %}
    expect_block_end("endmacro");
    return s;
  }

  // {% call macro(args) %}body{% endcall %}: MiniCPM-style templates pass a block to a macro.
  StmtPtr parse_call_block(const Token& open) {
    auto s = new_stmt(StmtKind::kCallBlock, open.offset);
    advance();  // call
    if (at_op("("))
      fail(current(), "unsupported call block with caller arguments", "'{% call macro(...) %}'",
           "pass the values to the macro instead");
    const Token& start = current();
    s->expr = parse_expression();
    if (s->expr->kind != ExprKind::kCall) fail(start, "expected a macro call after 'call'", "'{% call name(args) %}'");
    expect_block_end("call");
    parse_until(s->body, {"endcall"}, open, "call");
    expect_block_end("endcall");
    return s;
  }

  // ---- expressions ----
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

  // An expression, or a bare tuple `a, b` (a list here).
  ExprPtr parse_tuple(bool with_condition) {
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

  ExprPtr parse_expression() {
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

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (at_name("or")) {
      const std::size_t offset = advance().offset;
      e = binary("or", std::move(e), parse_and(), offset);
    }
    return e;
  }
  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (at_name("and")) {
      const std::size_t offset = advance().offset;
      e = binary("and", std::move(e), parse_not(), offset);
    }
    return e;
  }
  ExprPtr parse_not() {
    if (!at_name("not")) return parse_compare();
    auto e = make(ExprKind::kUnary, advance().offset);
    e->op = "not";
    e->args.push_back(parse_not());
    return e;
  }

  ExprPtr parse_compare() {
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

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& op = advance();
      e = binary(op.text, std::move(e), parse_concat(), op.offset);
    }
    return e;
  }
  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (at_op("~")) {
      const Token& op = advance();
      e = binary("~", std::move(e), parse_math2(), op.offset);
    }
    return e;
  }
  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& op = advance();
      e = binary(op.text, std::move(e), parse_pow(), op.offset);
    }
    return e;
  }
  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (at_op("**")) {
      const Token& op = advance();
      e = binary("**", std::move(e), parse_unary(true), op.offset);
    }
    return e;
  }
  ExprPtr parse_unary(bool with_filter) {
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
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

  ExprPtr parse_primary() {
    const Token& t = current();
    switch (t.kind) {
      case TokenKind::kName: {
        advance();
        auto e = make(ExprKind::kLiteral, t.offset);
        if (t.text == "true" || t.text == "True") e->literal = Value(true);
        else if (t.text == "false" || t.text == "False") e->literal = Value(false);
        else if (t.text == "none" || t.text == "None") e->literal = Value(nullptr);
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
      default: break;
    }
    fail(t, "expected an expression", "a name, a literal, '(', '[' or '{'");
  }

  ExprPtr parse_parenthesized() {
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

  ExprPtr parse_list() {
    auto list = make(ExprKind::kList, advance().offset);  // [
    while (!at_op("]")) {
      if (!list->args.empty()) expect_op(",", "in list literal");
      if (at_op("]")) break;
      list->args.push_back(parse_expression());
    }
    advance();
    return list;
  }

  ExprPtr parse_dict() {
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

  ExprPtr parse_postfix(ExprPtr e) {
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

  ExprPtr parse_subscript(ExprPtr target) {
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
    if (!is_slice && !bounds[0]) fail(tokens_[pos_ - 1], "empty subscript", "an index or a slice");
    for (int part = 0; part < (is_slice ? 3 : 1); ++part) e->args.push_back(std::move(bounds[part]));
    return e;
  }

  // Arguments of a call, filter or test: positional then name=value.
  void parse_call_args(Expr& e) {
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

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make(ExprKind::kCall, current().offset);
    e->args.push_back(std::move(callee));
    parse_call_args(*e);
    return e;
  }

  ExprPtr parse_filters(ExprPtr e) {
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

  const std::vector<Token>& tokens_;
  std::size_t pos_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens) { return Parser(tokens).parse(); }

}  // namespace ds::engine::chat_template
