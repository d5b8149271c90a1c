// Bad templates and failing renders: each gets one exact message naming line:column, with the
// offending line and a caret, and the right ds error kind (UsageError when the template does not
// compile, RequestError when a request's values make it fail, TemplateRaisedError for
// raise_exception).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/chat_template/chat_template.hpp"

namespace ds::engine::chat_template {
namespace {

using json = nlohmann::ordered_json;

struct BadTemplate {
  std::string source;
  std::string message;
};

TEST(ChatTemplateErrors, BadTemplatesFailToCompileWithLocatedMessages) {
  const std::vector<BadTemplate> cases = {
      {"{% if x %}",
       "chat template:1:1: 'if' block is never closed (got end of template); expected '{% endif %}'; "
       "hint: every {% if %} needs a matching {% endif %}\n{% if x %}\n^"},
      {"a\n{{ x | trimm }}",
       "chat template:2:8: unknown filter 'trimm'; did you mean 'trim'? (got 'trimm')\n"
       "{{ x | trimm }}\n       ^"},
      {"{% extends 'base.html' %}",
       "chat template:1:4: unsupported tag 'extends' (got 'extends'); hint: a chat template is one self-contained "
       "string; inline the parent template\n{% extends 'base.html' %}\n   ^"},
      {"{% endfor %}",
       "chat template:1:4: unexpected 'endfor' tag (got 'endfor'); hint: no open block here takes it; "
       "check the nesting of the tags above\n{% endfor %}\n   ^"},
      {"{{ 'abc }}", "chat template:1:4: unclosed string literal\n{{ 'abc }}\n   ^"},
      {"{{ x is frobbed }}",
       "chat template:1:9: unknown test 'frobbed' (got 'frobbed')\n{{ x is frobbed }}\n        ^"},
      {"{% fro x in y %}",
       "chat template:1:4: unknown tag 'fro'; did you mean 'for'? (got 'fro')\n"
       "{% fro x in y %}\n   ^"},
      {"{{ 1 + }}",
       "chat template:1:8: expected an expression (got '}}'); expected a name, a literal, '(', '[' or "
       "'{'\n{{ 1 + }}\n       ^"},
      {"{{ x", "chat template:1:1: unclosed tag: '{{' has no matching '}}'\n{{ x\n^"},
      {"{# never closed", "chat template:1:1: unclosed comment: '{#' has no matching '#}'\n{# never closed\n^"},
      {"{% set x = [1, 2 %}",
       "chat template:1:19: unexpected '}'; expected ']'\n{% set x = [1, 2 %}\n                  ^"},
      {"{{ f(*args) }}",
       "chat template:1:6: unsupported *args/**kwargs in a call (got '*'); expected plain "
       "arguments\n{{ f(*args) }}\n     ^"},
      {"{% call(x) foo() %}x{% endcall %}",
       "chat template:1:8: unsupported call block with caller arguments (got '('); expected '{% call macro(...) %}'; "
       "hint: pass the values to the macro instead\n{% call(x) foo() %}x{% endcall %}\n       ^"},
      {"{% filter upper %}x{% endfilter %}",
       "chat template:1:4: unsupported tag 'filter' (got 'filter'); hint: apply the filter to an expression: "
       "{{ value | name }}\n{% filter upper %}x{% endfilter %}\n   ^"},
      {"{% for x in xs recursive %}{% endfor %}",
       "chat template:1:16: unsupported recursive loop (got 'recursive'); hint: flatten the data before the loop\n"
       "{% for x in xs recursive %}{% endfor %}\n               ^"},
  };
  for (const auto& c : cases) {
    try {
      ChatTemplate t(c.source);
      ADD_FAILURE() << "compiled: " << c.source;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.what(), c.message) << c.source;
      EXPECT_EQ(e.exit_code(), 2);
    }
  }
}

struct BadRender {
  std::string source;
  json context;
  std::string message;
};

TEST(ChatTemplateErrors, RenderFailuresAreBadRequestsNamingTheExpression) {
  const std::vector<BadRender> cases = {
      {"{{ x.y }}", json::object(), "chat template:1:5: 'x' is undefined\n{{ x.y }}\n    ^"},
      {"{{ m.content + 1 }}",
       {{"m", {{"content", "hi"}}}},
       "chat template:1:14: unsupported operand type(s) for +: 'str' and 'int'\n{{ m.content + 1 }}\n             ^"},
      {"{% for x in n %}{% endfor %}",
       {{"n", nullptr}},
       "chat template:1:13: 'NoneType' object is not iterable\n{% for x in n %}{% endfor %}\n            ^"},
      {"line one\n{% set ns.x = 1 %}",
       {{"ns", 1}},
       "chat template:2:1: cannot set attribute 'x' on 'ns' (got int); expected a namespace() object\n"
       "{% set ns.x = 1 %}\n^"},
      {"{% for a, b in [[1, 2, 3]] %}{% endfor %}", json::object(),
       "chat template:1:1: cannot unpack into 2 names (got 3 values); expected 2 values\n"
       "{% for a, b in [[1, 2, 3]] %}{% endfor %}\n^"},
      {"{% if x < 1 %}{% endif %}", json::object(),
       "chat template:1:7: 'x' is undefined\n{% if x < 1 %}{% endif %}\n      ^"},
      {"{{ m.content.upper() }}",
       {{"m", {{"content", {1}}}}},
       "chat template:1:13: 'list object' has no attribute 'upper'\n{{ m.content.upper() }}\n            ^"},
  };
  for (const auto& c : cases) {
    const ChatTemplate t(c.source);
    try {
      t.render(c.context);
      ADD_FAILURE() << "rendered: " << c.source;
    } catch (const TemplateRaisedError& e) {
      ADD_FAILURE() << "raised: " << e.what();
    } catch (const RequestError& e) {
      EXPECT_EQ(e.what(), c.message) << c.source;
      EXPECT_EQ(e.http_status(), 400);
      EXPECT_EQ(e.param(), "messages");
    }
  }
}

TEST(ChatTemplateErrors, DeeplyNestedRequestDataIsABadRequestNotACrash) {
  json deep = "leaf";
  for (int i = 0; i < 600; ++i) deep = json::array({deep});
  try {
    ChatTemplate("{{ messages|length }}").render({{"messages", deep}});
    FAIL() << "rendered";
  } catch (const RequestError& e) {
    EXPECT_STREQ(e.what(), "chat template: rendering failed: JSON nested deeper than 512 levels");
  }
}

TEST(ChatTemplateErrors, RunawayNestingAndRecursionFailInsteadOfCrashing) {
  const auto parens = [](int n) { return "{{ " + std::string(n, '(') + "1" + std::string(n, ')') + " }}"; };
  EXPECT_EQ(ChatTemplate(parens(150)).render(json::object()), "1");
  try {
    ChatTemplate t(parens(250));
    FAIL() << "compiled";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("template nested too deeply (got '('); expected 200 levels at most"),
              std::string::npos)
        << e.what();
  }
  const ChatTemplate forever("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  try {
    forever.render(json::object());
    FAIL() << "rendered";
  } catch (const RequestError& e) {
    EXPECT_NE(std::string(e.what()).find("macro 'f' recursed deeper than 200 calls"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplateErrors, RaiseExceptionCarriesTheTemplatesMessage) {
  const ChatTemplate t(
      "{% if messages|length > 1 %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}");
  try {
    t.render({{"messages", {1, 2}}});
    FAIL() << "rendered";
  } catch (const TemplateRaisedError& e) {
    EXPECT_EQ(e.template_message(), "Conversation roles must alternate");
    EXPECT_STREQ(e.what(), "messages: rejected by the chat template: Conversation roles must alternate");
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(e.param(), "messages");
  }
}

TEST(ChatTemplateErrors, RenderChatWantsAnArrayOfMessages) {
  const ChatTemplate t("{{ messages }}");
  try {
    render_chat(t, {{"role", "user"}});
    FAIL() << "rendered";
  } catch (const RequestError& e) {
    EXPECT_STREQ(e.what(),
                 "messages: expected an array of messages (got object); expected "
                 "[{\"role\": \"user\", \"content\": \"...\"}, ...]");
  }
}

}  // namespace
}  // namespace ds::engine::chat_template
