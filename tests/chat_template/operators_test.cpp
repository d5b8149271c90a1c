// Python's operators and element access on template values. Expected values and messages are
// what Jinja2 3.1 on CPython 3.11 gives for the same expression (checked with python3-jinja2,
// e.g. `{{ 7 // -2 }}` -> -4, `{{ xs[5].z }}` -> "list object has no element 5").
#include "engine/chat_template/operators.hpp"

#include <gtest/gtest.h>

#include <string>

#include "engine/chat_template/template_error.hpp"
#include "tests/chat_template/render_failure.hpp"

namespace ds::engine::chat_template {
namespace {

using test::render_failure;

Value list(ValueList items) { return Value(std::move(items)); }

TEST(ChatTemplateOperators, ArithmeticFollowsPython) {
  EXPECT_EQ(binary_op("//", 7, -2).as_int(), -4);  // floor, not truncation
  EXPECT_EQ(binary_op("%", -7, 3).as_int(), 2);
  EXPECT_EQ(binary_op("%", 7, -3).as_int(), -2);
  EXPECT_EQ(binary_op("**", 2, 10).as_int(), 1024);
  EXPECT_EQ(binary_op("+", true, true).as_int(), 2);
  const Value floor_div = binary_op("//", 7.5, 2), mod = binary_op("%", -7.5, 2), half = binary_op("**", 2, -1);
  const Value quotient = binary_op("/", 4, 2);
  EXPECT_TRUE(floor_div.is_float() && mod.is_float() && half.is_float() && quotient.is_float());
  EXPECT_EQ(floor_div.as_double(), 3.0);
  EXPECT_EQ(mod.as_double(), 0.5);
  EXPECT_EQ(half.as_double(), 0.5);
  EXPECT_EQ(quotient.as_double(), 2.0);  // / always gives a float
}

TEST(ChatTemplateOperators, StringsAndListsConcatenateAndRepeat) {
  EXPECT_EQ(binary_op("+", "a", "b").as_string(), "ab");
  EXPECT_EQ(to_output(binary_op("+", list({1}), list({"x"}))), "[1, 'x']");
  EXPECT_EQ(binary_op("*", "ab", 0).as_string(), "");
  EXPECT_EQ(binary_op("*", "a", -1).as_string(), "");
  EXPECT_EQ(to_output(binary_op("*", 3, list({1}))), "[1, 1, 1]");
}

TEST(ChatTemplateOperators, BadOperandsFailWithPythonsMessages) {
  EXPECT_EQ(render_failure([] { binary_op("-", list({1}), list({1})); }),
            "unsupported operand type(s) for -: 'list' and 'list'");
  EXPECT_EQ(render_failure([] { binary_op("*", nullptr, 2); }),
            "unsupported operand type(s) for *: 'NoneType' and 'int'");
  EXPECT_EQ(render_failure([] { binary_op("/", 1, 0); }), "division by zero");
  EXPECT_EQ(render_failure([] { binary_op("//", 1, 0); }), "integer division or modulo by zero");
  EXPECT_EQ(render_failure([] { binary_op("+", Value::undefined("'x' is undefined"), 1); }), "'x' is undefined");
  EXPECT_EQ(render_failure([] { binary_op("%", "%s", 1); }),
            "unsupported printf-style formatting ('...' % value); use ~ or format()");
  EXPECT_EQ(render_failure([] { value_less(1, "a"); }), "'<' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(render_failure([] { contains("abc", 1); }), "'in <string>' requires string as left operand, not int");
  EXPECT_EQ(render_failure([] { contains(nullptr, "k"); }), "argument of type 'NoneType' is not iterable");
}

// Python 3.11's messages (Jinja passes them through): the operator as written, the operands in
// the order written, and each zero division worded for its operator and operand types.
TEST(ChatTemplateOperators, MessagesNameTheOperatorUsed) {
  EXPECT_EQ(render_failure([] { compare(">", 1, "a"); }), "'>' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(render_failure([] { compare("<=", "a", 1); }), "'<=' not supported between instances of 'str' and 'int'");
  EXPECT_EQ(render_failure([] { compare(">=", list({1}), list({"a"})); }),
            "'>=' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(render_failure([] { binary_op("%", 1, 0); }), "integer modulo by zero");
  EXPECT_EQ(render_failure([] { binary_op("%", 1.0, 0); }), "float modulo");
  EXPECT_EQ(render_failure([] { binary_op("/", 1.0, 0); }), "float division by zero");
  EXPECT_EQ(render_failure([] { binary_op("//", 1.0, 0); }), "float floor division by zero");
}

TEST(ChatTemplateOperators, ComparisonsAndMembership) {
  EXPECT_TRUE(value_less(list({1, 2}), list({1, 3})));
  EXPECT_TRUE(value_less(list({1}), list({1, 0})));
  EXPECT_TRUE(value_less("B", "a"));
  EXPECT_TRUE(value_less("z", "\xC3\xA9"));  // code point order: 'z' < 'é'
  EXPECT_TRUE(compare("<=", 1, 1.0));
  EXPECT_TRUE(compare(">=", 2, 1));
  EXPECT_TRUE(compare("in", "a", "cab"));
  EXPECT_TRUE(compare("not in", 3, list({1, 2})));
  ValueDict d;
  d.set("1", 2);
  EXPECT_FALSE(contains(Value(d), 1));  // {'1': 2} has no int key 1
  EXPECT_TRUE(contains(Value(d), "1"));
  EXPECT_FALSE(contains(Value(), "x"));  // nothing is in Undefined
}

TEST(ChatTemplateOperators, AttributesAndItemsGiveJinjasUndefinedHints) {
  ValueDict d;
  d.set("items", "K");
  const Value dict(d);
  EXPECT_TRUE(get_attribute(dict, "items").is_callable());  // d.items is the method
  EXPECT_EQ(get_item(dict, "items").as_string(), "K");        // d['items'] is the key
  EXPECT_EQ(get_item(dict, "y").undefined_hint(), "'dict object' has no attribute 'y'");
  EXPECT_EQ(get_attribute(nullptr, "x").undefined_hint(), "'None' has no attribute 'x'");
  EXPECT_EQ(get_attribute(list({1}), "x").undefined_hint(), "'list object' has no attribute 'x'");
  EXPECT_EQ(get_item(list({1}), 5).undefined_hint(), "list object has no element 5");
  EXPECT_EQ(get_item(list({1}), -2).undefined_hint(), "list object has no element -2");
  EXPECT_EQ(get_item("ab", 9).undefined_hint(), "str object has no element 9");
  EXPECT_EQ(get_item(list({1, 2, 3}), true).as_int(), 2);
  EXPECT_EQ(get_item("h\xC3\xA9", 1).as_string(), "\xC3\xA9");
  EXPECT_EQ(get_item("abc", -1).as_string(), "c");
  EXPECT_EQ(render_failure([] { get_attribute(Value::undefined("'m' is undefined"), "x"); }), "'m' is undefined");
}

TEST(ChatTemplateOperators, SlicesAndIteration) {
  EXPECT_EQ(to_output(get_slice(list({1, 2, 3}), Value(), Value(), -1)), "[3, 2, 1]");
  EXPECT_EQ(get_slice("abcdef", 1, nullptr, 2).as_string(), "bdf");
  EXPECT_EQ(render_failure([] { get_slice(list({1}), Value(), Value(), 0); }), "slice step cannot be zero");
  EXPECT_EQ(render_failure([] { get_slice("a", "x", Value(), Value()); }),
            "slice start must be an integer (got 'str')");
  EXPECT_EQ(render_failure([] { get_slice(1, 1, Value(), Value()); }), "'int' object is not subscriptable");
  ValueDict d;
  d.set("b", 1);
  d.set("a", 2);
  EXPECT_EQ(to_output(Value(iterate(Value(d)))), "['b', 'a']");  // dict keys, in insertion order
  EXPECT_EQ(to_output(Value(iterate("h\xC3\xA9"))), "['h', '\xC3\xA9']");
  EXPECT_TRUE(iterate(Value()).empty());
  EXPECT_EQ(render_failure([] { iterate(nullptr); }), "'NoneType' object is not iterable");
  EXPECT_EQ(render_failure([] { iterate(1); }), "'int' object is not iterable");
}

}  // namespace
}  // namespace ds::engine::chat_template
