// Values print, compare and serialize the way Python does (what Jinja's output is made of).
#include "engine/chat_template/value.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace ds::engine::chat_template {
namespace {

using json = nlohmann::ordered_json;

TEST(ChatTemplateValue, FloatReprIsPythons) {
  EXPECT_EQ(float_repr(1.0), "1.0");
  EXPECT_EQ(float_repr(0.1), "0.1");
  EXPECT_EQ(float_repr(-0.0), "-0.0");
  EXPECT_EQ(float_repr(1e16), "1e+16");
  EXPECT_EQ(float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(float_repr(0.0001), "0.0001");
  EXPECT_EQ(float_repr(0.00001), "1e-05");
  EXPECT_EQ(float_repr(1.5e-7), "1.5e-07");
  EXPECT_EQ(float_repr(123456789.123), "123456789.123");
  EXPECT_EQ(float_repr(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(float_repr(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(float_repr(std::nan("")), "nan");
}

TEST(ChatTemplateValue, OutputAndReprAreStrAndRepr) {
  const Value v = Value::from_json(json::parse(R"({"s": "it's", "q": "say \"hi\"", "n": null, "b": false,
      "l": [1, 2.5, "a\nb"], "e": {}})"));
  EXPECT_EQ(to_output(v), "{'s': \"it's\", 'q': 'say \"hi\"', 'n': None, 'b': False, 'l': [1, 2.5, 'a\\nb'], 'e': {}}");
  EXPECT_EQ(to_output(Value("plain")), "plain");
  EXPECT_EQ(to_output(Value()), "");
  EXPECT_EQ(to_repr(Value("a\\b\t")), "'a\\\\b\\t'");
}

TEST(ChatTemplateValue, JsonRoundTripKeepsKeyOrderAndTypes) {
  const json doc = json::parse(R"({"z": 1, "a": [true, null, 1.5, "x"], "m": {"k": -3}})");
  EXPECT_EQ(Value::from_json(doc).to_json().dump(), doc.dump());
  EXPECT_TRUE(Value::from_json(json::parse("18446744073709551615")).is_float());  // beyond int64
}

TEST(ChatTemplateValue, PythonJsonDumps) {
  const Value v = Value::from_json(json::parse(R"({"a": "\u00e9<>&\u0001", "b": [], "c": [1, {"d": 2.0}]})"));
  EXPECT_EQ(to_python_json(v, {}), "{\"a\": \"\xC3\xA9<>&\\u0001\", \"b\": [], \"c\": [1, {\"d\": 2.0}]}");
  JsonDumpOptions pretty;
  pretty.pretty = true;
  pretty.indent = "  ";
  pretty.item_separator = ",";
  EXPECT_EQ(
      to_python_json(v, pretty),
      "{\n  \"a\": \"\xC3\xA9<>&\\u0001\",\n  \"b\": [],\n  \"c\": [\n    1,\n    {\n      \"d\": 2.0\n    }\n  ]\n}");
  EXPECT_THROW(to_python_json(Value(), {}), std::invalid_argument);
}

TEST(ChatTemplateValue, EqualityAndTruthAreTheseOfPython) {
  EXPECT_TRUE(values_equal(Value(1), Value(1.0)));
  EXPECT_TRUE(values_equal(Value(true), Value(1)));
  EXPECT_FALSE(values_equal(Value(nullptr), Value()));
  EXPECT_TRUE(values_equal(Value(), Value()));
  EXPECT_TRUE(values_equal(Value::from_json(json::parse(R"({"a": 1, "b": 2})")),
                           Value::from_json(json::parse(R"({"b": 2, "a": 1})"))));
  EXPECT_FALSE(Value("").truthy());
  EXPECT_FALSE(Value(ValueList{}).truthy());
  EXPECT_FALSE(Value(0.0).truthy());
  EXPECT_TRUE(Value("0").truthy());
}

}  // namespace
}  // namespace ds::engine::chat_template
