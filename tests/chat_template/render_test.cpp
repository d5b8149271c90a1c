// Statements, expressions and whitespace control, each checked on exact rendered strings (the
// expected strings are what Jinja 2 3.1 prints with Hugging Face's environment).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "engine/chat_template/chat_template.hpp"

namespace ds::engine::chat_template {
namespace {

using json = nlohmann::ordered_json;

std::string render(const std::string& source, const json& context = json::object()) {
  return ChatTemplate(source).render(context);
}

TEST(ChatTemplateRender, TextAndOutput) {
  EXPECT_EQ(render("Hello {{ name }}!", {{"name", "world"}}), "Hello world!");
  EXPECT_EQ(render("{{ missing }}|{{ none }}|{{ true }}|{{ 3 }}|{{ 2.5 }}"), "|None|True|3|2.5");
  EXPECT_EQ(render("{# a comment #}x"), "x");
  EXPECT_EQ(render("a\n"), "a");  // one trailing newline dropped
  EXPECT_EQ(render("a\n\n"), "a\n");
  EXPECT_EQ(render("a\r\nb"), "a\nb");  // newlines normalized
}

TEST(ChatTemplateRender, WhitespaceControlMatchesHuggingFaceEnvironment) {
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: indentation before it goes.
  EXPECT_EQ(render("  {% if true %}\n  x\n  {% endif %}\n  {{ 'y' }}\n"), "  x\n  y");
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif %}"), "ab");
  EXPECT_EQ(render("a  {{- 'b' -}}  c"), "abc");
  EXPECT_EQ(render("x {% if true %}y{% endif %}"), "x y");   // not at line start: kept
  EXPECT_EQ(render("  {%+ if true %}y{% endif %}"), "  y");  // + keeps the indentation
  EXPECT_EQ(render("{% if true +%}\ny{% endif %}"), "\ny");  // +%} keeps the newline
  EXPECT_EQ(render("{# c #}\nx"), "x");
  EXPECT_EQ(render("{{ 'a' }}\nb"), "a\nb");  // variable tags never trim
  EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(ChatTemplateRender, IfElifElse) {
  const std::string t = "{% if n > 1 %}many{% elif n == 1 %}one{% else %}none{% endif %}";
  EXPECT_EQ(render(t, {{"n", 3}}), "many");
  EXPECT_EQ(render(t, {{"n", 1}}), "one");
  EXPECT_EQ(render(t, {{"n", 0}}), "none");
}

TEST(ChatTemplateRender, ForLoopVariables) {
  EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }};{% endfor %}",
                   {{"xs", {"a", "b"}}}),
            "102TrueFalse2;211FalseTrue2;");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in xs|reverse %}{{ x }}{% endfor %}", {{"xs", {1, 2, 3}}}), "321");
  EXPECT_EQ(render("{% for x in xs[::-1] %}{{ x }}{% endfor %}", {{"xs", {1, 2, 3}}}), "321");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {{"d", {{"b", 1}, {"a", 2}}}}),
            "b=1;a=2;");
  EXPECT_EQ(render("{% for m in [1, 2, 3] if m > 1 %}{{ loop.index }}/{{ loop.length }} {% endfor %}"), "1/2 2/2 ");
  EXPECT_EQ(render("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                   "{% endif %}{{ x }}{% endfor %}"),
            "13");
  EXPECT_EQ(render("{% for x in 'ab' %}{{ x }}.{% endfor %}"), "a.b.");
  EXPECT_EQ(render("{% for x in [1, 2] %}{{ loop.previtem is defined }}{{ loop.cycle('o', 'e') }}{% endfor %}"),
            "FalseoTruee");
}

TEST(ChatTemplateRender, ScopingFollowsJinja) {
  // A set inside a loop is local to one iteration; namespace() carries state out.
  EXPECT_EQ(render("{% set x = 0 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}"), "120");
  EXPECT_EQ(render("{% if true %}{% set z = 3 %}{% endif %}{{ z }}"), "3");
  EXPECT_EQ(render("{% set ns = namespace(found=false) %}{% for i in [1, 2] %}{% if i == 2 %}{% set ns.found = true %}"
                   "{% endif %}{% endfor %}{{ ns.found }}"),
            "True");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21");
  EXPECT_EQ(render("{% set block %}x{{ 1 + 1 }}{% endset %}[{{ block }}]"), "[x2]");
}

TEST(ChatTemplateRender, Macros) {
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
                   "{{ greet('a') }} {{ greet('b', punct='?') }}"),
            "Hi a! Hi b?");
  // A call block hands its body to the macro as caller(); macros may recurse.
  EXPECT_EQ(render("{% macro box(w) %}[{{ caller() }}:{{ w }}]{% endmacro %}{% for i in [1, 2] %}"
                   "{% call box(i * 10) %}item {{ i }}{% endcall %}{% endfor %}"),
            "[item 1:10][item 2:20]");
  EXPECT_EQ(render("{% macro fact(n) %}{{ 1 if n <= 1 else n * fact(n - 1)|int }}{% endmacro %}{{ fact(5) }}"), "120");
}

TEST(ChatTemplateRender, Literals) {
  EXPECT_EQ(render("{{ 'a\\n\\t\\'' }}|{{ \"q\\\"\" }}|{{ '\\u00e9\\x41' }}|{{ 'a' 'b' }}"),
            "a\n\t'|q\"|\xC3\xA9"
            "A|ab");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 1.5, {'k': 'v'}] }}"), "[1, 'a', None, True, 1.5, {'k': 'v'}]");
  // Tuples are lists here: printing one directly would differ from Python's "(1, 2)".
  EXPECT_EQ(render("{{ 1e20 }}|{{ 0.00001 }}|{{ 1_000 }}|{{ 3.0 }}|{{ (1, 2)|list }}"), "1e+20|1e-05|1000|3.0|[1, 2]");
}

TEST(ChatTemplateRender, AccessAndSlicing) {
  const json ctx = {{"m", {{"role", "user"}, {"content", "hello"}}}, {"xs", {10, 20, 30}}};
  EXPECT_EQ(render("{{ m.role }}{{ m['content'] }}[{{ m.missing }}]", ctx), "userhello[]");
  EXPECT_EQ(render("{{ xs[0] }}{{ xs[-1] }}{{ xs[1:] }}{{ xs[:1] }}{{ xs[::2] }}[{{ xs[5] }}]", ctx),
            "1030[20, 30][10][10, 30][]");
  EXPECT_EQ(render("{{ 'h\xC3\xA9llo'[1] }}{{ 'abc'[::-1] }}{{ 'abcdef'[1:-1] }}"),
            "\xC3\xA9"
            "cbabcde");
  EXPECT_EQ(render("{{ m.get('role') }}{{ m.get('x', 'dflt') }}{{ m.keys()|list }}{{ m.values()|list }}", ctx),
            "userdflt['role', 'content']['user', 'hello']");
}

TEST(ChatTemplateRender, Operators) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }}|{{ 7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 1 / 2 }}|{{ 1 - 2.5 }}"),
            "7|3|2|1024|0.5|-1.5");
  EXPECT_EQ(render("{{ 'a' + 'b' }}|{{ [1] + [2] }}|{{ 'ab' * 2 }}|{{ 'a' ~ 1 ~ none }}|{{ 1 + true }}"),
            "ab|[1, 2]|abab|a1None|2");
  EXPECT_EQ(render("{{ 1 == 1.0 }}{{ 'a' != 'b' }}{{ 2 < 3 < 4 }}{{ 'b' >= 'a' }}{{ [1, 2] < [1, 3] }}"),
            "TrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ 'a' in 'cab' }}{{ 1 in [1] }}{{ 'k' in {'k': 1} }}{{ 'x' not in 'abc' }}"), "TrueTrueTrueTrue");
  EXPECT_EQ(render("{{ true and 'x' }}|{{ 0 or 'y' }}|{{ not 0 }}|{{ not (1 and 0) }}"), "x|y|True|True");
  EXPECT_EQ(render("{{ 'y' if x else 'n' }}|{{ 'y' if x }}|", {{"x", false}}), "n||");
  EXPECT_EQ(render("{{ -x|abs }}", {{"x", 3}}), "3");
}

TEST(ChatTemplateRender, Tests) {
  const json ctx = {{"s", "x"}, {"n", nullptr}, {"d", json::object()}, {"l", json::array()}, {"i", 3},
                    {"f", 1.5}, {"b", true}};
  EXPECT_EQ(render("{{ s is defined }}{{ q is undefined }}{{ n is none }}{{ s is string }}{{ d is mapping }}"
                   "{{ l is iterable }}{{ i is number }}{{ l is sequence }}{{ b is true }}{{ b is false }}",
                   ctx),
            "TrueTrueTrueTrueTrueTrueTrueTrueTrueFalse");
  EXPECT_EQ(render("{{ i is integer }}{{ f is float }}{{ b is boolean }}{{ i is odd }}{{ i is divisibleby 3 }}"
                   "{{ i is not even }}{{ s is eq 'x' }}{{ 2 is in [1, 2] }}",
                   ctx),
            "TrueTrueTrueTrueTrueTrueTrueTrue");
}

}  // namespace
}  // namespace ds::engine::chat_template
