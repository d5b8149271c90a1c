// The statement parser: which tree each tag builds, and the located syntax errors for tags that
// are malformed, unknown, unsupported or never closed.
#include "engine/chat_template/parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

// A compact outline of the statements: text in quotes, {{}} for output, tags with their bodies.
std::string outline(const Body& body) {
  std::string out;
  for (const auto& s : body) {
    switch (s->kind) {
      case StmtKind::kText:
        out += "'" + s->text + "'";
        break;
      case StmtKind::kOutput:
        out += "{{}}";
        break;
      case StmtKind::kIf:
        out += "if";
        for (const auto& [condition, branch] : s->branches) out += "{" + outline(branch) + "}";
        out += "else{" + outline(s->else_body) + "}";
        break;
      case StmtKind::kFor:
        out += "for(" + join(s->targets) + (s->condition ? " if" : "") + "){" + outline(s->body) + "}else{" +
               outline(s->else_body) + "}";
        break;
      case StmtKind::kSet:
        out += "set(" + join(s->targets) + (s->attribute.empty() ? "" : "." + s->attribute) + ")";
        break;
      case StmtKind::kSetBlock:
        out += "setblock(" + s->targets[0] + "){" + outline(s->body) + "}";
        break;
      case StmtKind::kMacro:
        out += "macro " + s->name + "(";
        for (const auto& p : s->params) out += p.name + (p.default_value ? "=" : "") + ";";
        out += "){" + outline(s->body) + "}";
        break;
      case StmtKind::kBreak:
        out += "break";
        break;
      case StmtKind::kContinue:
        out += "continue";
        break;
      case StmtKind::kScope:
        out += "scope{" + outline(s->body) + "}";
        break;
      case StmtKind::kCallBlock:
        out += "call{" + outline(s->body) + "}";
        break;
    }
  }
  return out;
}

std::string parse(const std::string& source) { return outline(parse_template(tokenize(source))); }

// "<offset>: <message>" of the syntax failure parsing `source`.
std::string failure(const std::string& source) {
  try {
    return "parsed: " + parse(source);
  } catch (const TemplateFailure& e) {
    return std::to_string(e.offset()) + ": " + e.what();
  }
}

TEST(ChatTemplateParser, TagsBuildTheirStatements) {
  EXPECT_EQ(parse("a{{ x }}b"), "'a'{{}}'b'");
  EXPECT_EQ(parse("{% if a %}1{% elif b %}2{% elif c %}{% else %}4{% endif %}"), "if{'1'}{'2'}{}else{'4'}");
  EXPECT_EQ(parse("{% for k, v in d.items() if v %}{% continue %}{% else %}e{% endfor %}"),
            "for(k,v if){continue}else{'e'}");
  EXPECT_EQ(parse("{% for (a, b) in xs %}{% break %}{% endfor %}"), "for(a,b){break}else{}");
  EXPECT_EQ(parse("{% set x = 1 %}{% set a, b = 1, 2 %}{% set ns.found = true %}"), "set(x)set(a,b)set(ns.found)");
  EXPECT_EQ(parse("{% set s %}t{{ x }}{% endset %}"), "setblock(s){'t'{{}}}");
  EXPECT_EQ(parse("{% macro f(a, b=1) %}m{% endmacro f %}"), "macro f(a;b=;){'m'}");
  EXPECT_EQ(parse("{% call f(1) %}c{% endcall %}{% generation %}g{% endgeneration %}"), "call{'c'}scope{'g'}");
}

TEST(ChatTemplateParser, MalformedTagsFailAtTheOffendingToken) {
  EXPECT_EQ(failure("x{% for m in ms %}"),
            "1: 'for' block is never closed (got end of template); expected '{% endfor %}'; "
            "hint: every {% for %} needs a matching {% endfor %}");
  EXPECT_EQ(failure("{% for x of y %}{% endfor %}"), "9: unexpected token in 'for' tag (got 'of'); expected 'in'");
  EXPECT_EQ(failure("{% if x y %}{% endif %}"),
            "8: unexpected token in 'if' tag (got 'y'); expected '%}' to end the tag");
  EXPECT_EQ(failure("{% break x %}"), "9: unexpected token in 'break' tag (got 'x'); expected '%}' to end the tag");
  EXPECT_EQ(failure("{{ x y }}"), "5: unexpected token in '{{ }}' (got 'y'); expected '}}'");
  EXPECT_EQ(failure("{% set a, b %}{% endset %}"),
            "12: unexpected token in 'set' tag (got '%}'); expected '=' or '%}'");
  EXPECT_EQ(failure("{% macro f(a b) %}{% endmacro %}"),
            "13: unexpected token between macro parameters (got 'b'); expected ','");
  EXPECT_EQ(failure("{% call foo %}x{% endcall %}"),
            "8: expected a macro call after 'call' (got 'foo'); expected '{% call name(args) %}'");
  EXPECT_EQ(failure("{% 1 %}"),
            "3: expected a tag name after '{%' (got '1'); expected a tag such as 'if', 'for' or 'set'");
}

TEST(ChatTemplateParser, UnknownUnsupportedAndStrayTagsExplainThemselves) {
  EXPECT_EQ(failure("{% iff x %}"), "3: unknown tag 'iff'; did you mean 'if'? (got 'iff')");
  EXPECT_EQ(failure("{% include 'x.j2' %}"),
            "3: unsupported tag 'include' (got 'include'); hint: a chat template is one self-contained string; "
            "inline the included template");
  EXPECT_EQ(failure("{% do xs.append(1) %}"),
            "3: unsupported tag 'do' (got 'do'); hint: Hugging Face does not enable the 'do' extension either; "
            "use {% set %}");
  EXPECT_EQ(failure("{% for x in y %}{% else %}{% endif %}"),
            "29: unexpected 'endif' tag (got 'endif'); hint: no open block here takes it; check the nesting of the "
            "tags above");
}

}  // namespace
}  // namespace ds::engine::chat_template
