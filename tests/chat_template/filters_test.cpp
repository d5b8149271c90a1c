// Filters, tests of values, string and dict methods and globals, on exact strings (what Jinja
// 3.1 prints in Hugging Face's environment; tests/chat_template/reference_test.cpp checks the
// same snippets against Python at test time).
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

const json kMessages = {{"ms",
                         {{{"role", "user"}, {"content", "a"}},
                          {{"role", "assistant"}, {"content", "b"}, {"tool", "t"}},
                          {{"role", "user"}, {"content", "c"}}}}};

TEST(ChatTemplateFilters, StringFilters) {
  EXPECT_EQ(render("{{ ' a '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'h\xC3\xA9llo'|length }}|{{ [1,2]|count }}|"
                   "{{ {'a':1}|length }}|{{ 'aB'|upper }}{{ 'aB'|lower }}|{{ 'hello world'|title }}|"
                   "{{ 'hELLO'|capitalize }}"),
            "a|a|5|2|1|ABab|Hello World|Hello");
  EXPECT_EQ(render("{{ '\xC2\xA0 x\xE3\x80\x80'|trim }}|{{ x|trim }}|"), "x||");  // Unicode spaces; undefined
  EXPECT_EQ(render("{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}"), "a\n  b\n\n  c|  a\n  b");
}

TEST(ChatTemplateFilters, ToJsonIsHuggingFaces) {
  // No HTML escaping, non-ASCII as is, Python's separators; key order kept.
  EXPECT_EQ(render("{{ {'a': '\xC3\xA9<>&\"\\n', 'b': [1, 2.5, none, true], 'c': {}}|tojson }}"),
            "{\"a\": \"\xC3\xA9<>&\\\"\\n\", \"b\": [1, 2.5, null, true], \"c\": {}}");
  EXPECT_EQ(render("{{ {'a': {'b': [1, 2]}, 'c': []}|tojson(indent=2) }}"),
            "{\n  \"a\": {\n    \"b\": [\n      1,\n      2\n    ]\n  },\n  \"c\": []\n}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ [1, 2]|tojson(separators=(',', ':')) }}|"
                   "{{ 'x'|tojson }}|{{ 0.1|tojson }}"),
            "{\"a\": 2, \"b\": 1}|[1,2]|\"x\"|0.1");
}

TEST(ChatTemplateFilters, Conversions) {
  EXPECT_EQ(render("{{ 42|string ~ 'x' }}|{{ '42'|int + 1 }}|{{ '4.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(7) }}|"
                   "{{ 3.9|int }}|{{ '2.5'|float }}|{{ 'ab'|list }}"),
            "42x|43|4|0|7|3|2.5|['a', 'b']");
  EXPECT_EQ(render("{{ x|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|{{ none|default('d') }}"),
            "d||d|None");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}{{ v }}{% endfor %}"), "a1b2");
}

TEST(ChatTemplateFilters, Sequences) {
  EXPECT_EQ(render("{{ [3, 1, 2]|first }}{{ [3, 1, 2]|last }}{{ [3, 1, 2]|join(', ') }}|{{ ['a', 'b']|join }}|"
                   "{{ 'a-b-c'|replace('-', '+') }}|{{ 'a-b-c'|replace('-', '+', 1) }}"),
            "323, 1, 2|ab|a+b+c|a+b-c");
  EXPECT_EQ(render("{{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}|"
                   "{{ ms|rejectattr('role', 'eq', 'user')|list|length }}|{{ ms|selectattr('tool')|list|length }}|"
                   "{{ ms|map(attribute='role')|unique|list }}",
                   kMessages),
            "a,c|1|1|['user', 'assistant']");
  EXPECT_EQ(render("{{ ['b', 'A', 'c']|sort }}|{{ [3, 1, 2]|sort(reverse=true) }}|{{ [3, 1, 2]|max }}"
                   "{{ [3, 1, 2]|min }}|{{ [1, 2, 3]|sum }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ -3|abs }}|"
                   "{{ ['a', 'B']|map('upper')|list }}|{{ [1, none, 0, 2]|select|list }}"),
            "['A', 'b', 'c']|[3, 2, 1]|31|6|2.57|2.0|3|['A', 'B']|[1, 2]");
}

TEST(ChatTemplateFilters, GlobalsAndNumbers) {
  EXPECT_EQ(render("{{ range(3)|list }}{{ range(1, 7, 2)|list }}|{{ dict(a=1)['a'] }}|{{ namespace(a=1).a }}"),
            "[0, 1, 2][1, 3, 5]|1|1");
  EXPECT_EQ(render("{{ 1.0 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 0.0001 }}|{{ 123456789.123 }}|{{ -0.5 }}|{{ 1/3 }}"),
            "1.0|1e+16|1000000000000000.0|0.0001|123456789.123|-0.5|0.3333333333333333");
  EXPECT_EQ(render("{{ strftime_now('%Y')|length }}"), "4");
}

}  // namespace
}  // namespace ds::engine::chat_template
