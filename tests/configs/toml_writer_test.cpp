// detail::write_toml (configs/detail/toml_writer.cpp): scalars before [tables] in document order,
// shortest round-trip floats that stay floats, quoting of non-bare keys and strings, no nulls.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include <toml++/toml.h>

#include "configs/config_io.hpp"
#include "configs/detail/toml_writer.hpp"

namespace ds::configs {
namespace {

using detail::Document;
using detail::write_toml;

TEST(ConfigTomlWriter, ScalarsFirstThenTablesInDocumentOrder) {
  const Document doc = Document::parse(R"({"b": {"x": 1}, "a": 2, "c": "s", "z": {"y": {"k": true}}})");
  EXPECT_EQ(write_toml(doc), "a = 2\nc = \"s\"\n\n[b]\nx = 1\n\n[z]\n\n[z.y]\nk = true\n");
  EXPECT_EQ(write_toml(Document::object()), "");
}

TEST(ConfigTomlWriter, FloatsStayFloatsAndUseTheShortestText) {
  Document doc = Document::object();
  doc["a"] = 0.9;    // not 0.90000000000000002 as toml++ would print
  doc["b"] = 1.0;    // to_chars gives "1"; ".0" keeps it a TOML float
  doc["c"] = 100.0;
  doc["d"] = 1e-4;
  EXPECT_EQ(write_toml(doc).substr(0, 28), "a = 0.9\nb = 1.0\nc = 100.0\nd ");
  const toml::table back = toml::parse(write_toml(doc));
  for (const char* key : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(back[key].is_floating_point()) << key;
    EXPECT_EQ(back[key].value<double>(), doc[key].get<double>()) << key;
  }
}

TEST(ConfigTomlWriter, InfinitiesAndIntegersBeyondInt64) {
  Document doc = Document::object();
  doc["hi"] = std::numeric_limits<double>::infinity();
  doc["lo"] = -std::numeric_limits<double>::infinity();
  doc["min"] = std::numeric_limits<std::int64_t>::min();
  // 2^64 - 1 rounds to the double 2^64 = 18446744073709551616; to_chars picks fixed notation (20
  // characters against 22 for 1.8446744073709552e+19) and, among equally short texts, the exact one.
  doc["u"] = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(write_toml(doc), "hi = inf\nlo = -inf\nmin = -9223372036854775808\nu = 18446744073709551616.0\n");
}

TEST(ConfigTomlWriter, StringsAreEscapedAndReadBack) {
  const std::string text = "a\"b\\c\nd\te\x01";
  Document doc = Document::object();
  doc["s"] = text;
  EXPECT_EQ(write_toml(doc), "s = \"a\\\"b\\\\c\\nd\\te\\u0001\"\n");
  EXPECT_EQ(toml::parse(write_toml(doc))["s"].value<std::string>(), text);
}

TEST(ConfigTomlWriter, NonBareKeysAreQuotedInLinesAndHeaders) {
  const Document doc = Document::parse(R"({"": 1, "a.b": 2, "ok-key_1": 3, "my table": {"x": 1}})");
  EXPECT_EQ(write_toml(doc), "\"\" = 1\n\"a.b\" = 2\nok-key_1 = 3\n\n[\"my table\"]\nx = 1\n");
  const toml::table back = toml::parse(write_toml(doc));
  EXPECT_EQ(back["a.b"].value<int>(), 2);
  EXPECT_EQ(back["my table"]["x"].value<int>(), 1);
}

TEST(ConfigTomlWriter, NullsAreLeftOutAndObjectsInArraysAreInline) {
  const Document doc = Document::parse(R"({"n": null, "v": [1, null, 2], "t": [{"k": 1, "s": "x", "m": null}, {}]})");
  EXPECT_EQ(write_toml(doc), "v = [1, 2]\nt = [{ k = 1, s = \"x\" }, { }]\n");
}

TEST(ConfigTomlWriter, TomlQuotesWhatIsNotABareKey) {
  const Config config = parse_config_json(R"({"wandb": {"team name": "a\"b", "tags": [{"k": 1}], "x": null}})");
  EXPECT_EQ(to_toml(config), "[wandb]\ntags = [{ k = 1 }]\n\"team name\" = \"a\\\"b\"\n");
}

}  // namespace
}  // namespace ds::configs
