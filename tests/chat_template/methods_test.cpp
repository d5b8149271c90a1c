// Methods templates call on str and dict values, and the globals every render sees. Expected
// values are CPython 3's ('héllo'.find('l') == 2, list(range(5, 0, -2)) == [5, 3, 1]); the
// rendered snippets are what Jinja2 3.1 prints in Hugging Face's environment (python3-jinja2).
#include "engine/chat_template/methods.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/chat_template/chat_template.hpp"
#include "engine/chat_template/template_error.hpp"
#include "tests/chat_template/render_failure.hpp"

namespace ds::engine::chat_template {
namespace {

using test::render_failure;

using json = nlohmann::ordered_json;

Value call(const Value& object, const std::string& method, std::vector<Value> positional = {},
           std::vector<std::pair<std::string, Value>> keyword = {}) {
  const Value bound = find_method(object, method);
  if (!bound.is_callable()) throw std::logic_error("no method " + method);
  return bound.as_callable().call(CallArgs{std::move(positional), std::move(keyword)});
}

Value call_global(const std::string& name, std::vector<Value> positional = {},
                  std::vector<std::pair<std::string, Value>> keyword = {}) {
  return make_globals().find(name)->as_callable().call(CallArgs{std::move(positional), std::move(keyword)});
}

std::string render(const std::string& source, const json& context = json::object()) {
  return ChatTemplate(source).render(context);
}

TEST(ChatTemplateMethods, StringMethodsRenderLikeJinja) {
  EXPECT_EQ(render("{{ ' a b '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'xxaxx'.rstrip('x') }}|"
                   "{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|{{ 'a,b,,c'.split(',') }}|"
                   "{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}"),
            "a b|axx|xxa|TrueTrue|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']");
  EXPECT_EQ(render("{{ 'hello world'.title() }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'aaa'.replace('a', 'b', 2) }}|"
                   "{{ 'abc'.find('c') }}|{{ '{} and {name}'.format(1, name='x') }}|{{ '-'.join(['a', 'b']) }}|"
                   "{{ 'a\\nb'.splitlines() }}"),
            "Hello World|HIhi|bba|2|1 and x|a-b|['a', 'b']");
  // Qwen 3 splits reasoning out of the content this way.
  EXPECT_EQ(render("{{ c.split('</think>')[-1].lstrip('\\n') }}|{{ c.split('</think>')[0].rstrip('\\n')"
                   ".split('<think>')[-1].lstrip('\\n') }}",
                   {{"c", "<think>\nhmm\n</think>\n\nanswer"}}),
            "answer|hmm");
}

TEST(ChatTemplateMethods, StringMethodsCountCodePoints) {
  EXPECT_EQ(call("h\xC3\xA9llo", "find", {"l"}).as_int(), 2);  // code points, not bytes
  EXPECT_EQ(call("abc", "find", {"z"}).as_int(), -1);
  EXPECT_EQ(call("h\xC3\xA9llo", "count", {""}).as_int(), 6);
  EXPECT_EQ(call("aaaa", "count", {"aa"}).as_int(), 2);  // non-overlapping
  EXPECT_FALSE(call("abc", "endswith", {Value(ValueList{"x", "y"})}).as_bool());
  EXPECT_EQ(call("{0}{1}{0}", "format", {"a", "b"}).as_string(), "aba");
  EXPECT_EQ(call("{{}}{}", "format", {1}).as_string(), "{}1");
  EXPECT_EQ(call("{} {n}", "format", {nullptr}, {{"n", true}}).as_string(), "None True");
  EXPECT_EQ(call("", "join", {Value(ValueList{})}).as_string(), "");
  EXPECT_EQ(call(" a ", "strip", {nullptr}).as_string(), "a");  // strip(None) is strip()
  EXPECT_TRUE(call("12", "isdigit").as_bool());
  EXPECT_FALSE(call("", "isdigit").as_bool());
  EXPECT_TRUE(call(" \t\xE3\x80\x80", "isspace").as_bool());
  EXPECT_FALSE(call("", "isspace").as_bool());
}

TEST(ChatTemplateMethods, BadArgumentsFailWithExactMessages) {
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"strip() argument must be str or None, not int", [] { call("x", "strip", {1}); }},
      {"split(): empty separator", [] { call("x", "split", {""}); }},
      {"split() argument must be int, not str", [] { call("x", "split", {",", "2"}); }},
      {"replace() argument must be str, not int", [] { call("x", "replace", {1, "y"}); }},
      {"startswith() argument must be str, not int", [] { call("x", "startswith", {Value(ValueList{1})}); }},
      {"join(): sequence item must be str, not int", [] { call(",", "join", {Value(ValueList{"a", 1})}); }},
      {"format(): single '{' encountered in format string", [] { call("a{", "format"); }},
      {"format(): format specs and conversions are not supported (got '{:>3}')", [] { call("{:>3}", "format", {1}); }},
      {"format(): no argument for field '{2}'", [] { call("{2}", "format", {1}); }},
      {"format(): no argument for field '{who}'", [] { call("{who}", "format"); }},
  };
  for (const auto& [message, f] : cases) EXPECT_EQ(render_failure(f), message);
}

TEST(ChatTemplateMethods, DictMethodsKeepInsertionOrder) {
  ValueDict d;
  d.set("b", 1);
  d.set("a", "x");
  const Value dict(d);
  EXPECT_TRUE(call(dict, "get", {"zz"}).is_none());  // dict.get's default is None
  EXPECT_EQ(call(dict, "get", {"zz", 5}).as_int(), 5);
  EXPECT_EQ(call(dict, "get", {}, {{"key", "a"}}).as_string(), "x");
  EXPECT_TRUE(call(dict, "get", {1}).is_none());  // keys are strings: no int key matches
  EXPECT_EQ(to_output(call(dict, "items")), "[['b', 1], ['a', 'x']]");
  EXPECT_EQ(to_output(call(dict, "keys")), "['b', 'a']");
  EXPECT_EQ(to_output(call(dict, "values")), "[1, 'x']");
}

TEST(ChatTemplateMethods, UnknownMethodsAreUndefined) {
  EXPECT_TRUE(find_method("x", "zfill").is_undefined());
  EXPECT_TRUE(find_method("x", "items").is_undefined());
  EXPECT_TRUE(find_method(Value(ValueDict{}), "strip").is_undefined());
  EXPECT_TRUE(find_method(Value(ValueList{}), "append").is_undefined());
  EXPECT_TRUE(find_method(1, "real").is_undefined());
}

TEST(ChatTemplateMethods, RangeDictAndNamespaceGlobals) {
  EXPECT_EQ(to_output(call_global("range", {3})), "[0, 1, 2]");
  EXPECT_EQ(to_output(call_global("range", {5, 0, -2})), "[5, 3, 1]");
  EXPECT_EQ(to_output(call_global("range", {2, 2})), "[]");
  EXPECT_EQ(render_failure([] { call_global("range"); }), "range() takes 1 to 3 integer arguments");
  EXPECT_EQ(render_failure([] { call_global("range", {1, 2, 0}); }), "range() arg 3 must not be zero");
  EXPECT_EQ(render_failure([] { call_global("range", {"3"}); }), "range() argument must be int, not str");
  ValueDict base;
  base.set("a", 1);
  EXPECT_EQ(to_output(call_global("dict", {Value(base)}, {{"b", 2}, {"a", 3}})), "{'a': 3, 'b': 2}");
  EXPECT_EQ(render_failure([] { call_global("dict", {1}); }), "dict() takes keyword arguments or one dict (got int)");
  const Value ns = call_global("namespace", {}, {{"found", false}});
  ASSERT_TRUE(ns.is_namespace());
  EXPECT_FALSE(ns.as_namespace().attributes.find("found")->as_bool());
}

TEST(ChatTemplateMethods, RaiseExceptionAndStrftimeNow) {
  try {
    call_global("raise_exception", {"roles must alternate"});
    FAIL() << "did not raise";
  } catch (const TemplateFailure& e) {
    EXPECT_EQ(e.kind(), FailureKind::kRaised);
    EXPECT_STREQ(e.what(), "roles must alternate");
  }
  EXPECT_EQ(call_global("strftime_now", {"%%Y"}).as_string(), "%Y");  // %% is a literal percent
  EXPECT_EQ(call_global("strftime_now", {"%Y"}).as_string().size(), 4u);
  EXPECT_EQ(render_failure([] { call_global("strftime_now", {1}); }), "strftime_now() argument must be str, not int");
}

}  // namespace
}  // namespace ds::engine::chat_template
