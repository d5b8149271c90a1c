#include "engine/chat_template/parser.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "engine/chat_template/expression_parser.hpp"
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
  static const std::vector<std::string> tags = {"if",         "elif",          "else",  "endif",    "for",   "endfor",
                                                "set",        "endset",        "macro", "endmacro", "break", "continue",
                                                "generation", "endgeneration", "call",  "endcall",  "raw",   "endraw"};
  return tags;
}

StmtPtr new_stmt(StmtKind kind, std::size_t offset) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->offset = offset;
  return s;
}

// Statements; expressions come from the ExpressionParser it extends.
class Parser : public ExpressionParser {
 public:
  using ExpressionParser::ExpressionParser;

  Body parse() { return parse_body({}); }

 private:
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
    const Nesting nesting(*this);
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
      fail(tag, "unexpected '" + name + "' tag", "",
           "no open block here takes it; check the nesting of the tags above");
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
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens) { return Parser(tokens).parse(); }

}  // namespace ds::engine::chat_template
