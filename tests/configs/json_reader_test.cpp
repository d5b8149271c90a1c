// parse_config_json (configs/json_reader.cpp): DeepSpeed's JSON dialect (comments, duplicate keys
// rejected like dict_raise_error_on_duplicate_keys), syntax errors located as file:line:column.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config_json(text, "r.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigJsonReader, AcceptsCommentsLikeDeepSpeedsHjsonLoader) {
  const Config config = parse_config_json(R"({
    // ZeRO-2 for the 7B run
    "zero_optimization": {"stage": 2 /* gradients partitioned */}
  })");
  EXPECT_EQ(config.zero_optimization.stage, 2);
}

TEST(ConfigJsonReader, EmptyObjectIsTheDefaultConfig) {
  EXPECT_EQ(parse_config_json("{}"), Config{});
  EXPECT_EQ(parse_config_json("  // nothing set\n{ }\n"), Config{});
}

TEST(ConfigJsonReader, NumberTooLargeForADouble) {  // found by tests/fuzz/config_fuzz
  EXPECT_EQ(error_of(R"({"gradient_clipping": 1e999})"), "r.json: invalid JSON: number overflow parsing '1e999'");
}

TEST(ConfigJsonReader, DuplicateKeysInsideArraysOfObjects) {
  EXPECT_EQ(error_of(R"({"wandb": {"tags": [{"a": 1, "a": 2}]}})"),
            "r.json: wandb.tags[].a: duplicate key; expected each key once; hint: DeepSpeed rejects duplicate keys "
            "too; keep the one you mean");
  EXPECT_EQ(error_of(R"({"wandb": {"tags": [{"a": 1}, {"a": 2}]}})"), "no error");
}

TEST(ConfigJsonReader, DuplicateTopLevelKeyIsNamed) {
  EXPECT_EQ(error_of(R"({"steps_per_print": 1, "fp16": {}, "steps_per_print": 2})"),
            "r.json: steps_per_print: duplicate key; expected each key once; hint: DeepSpeed rejects duplicate keys "
            "too; keep the one you mean");
}

TEST(ConfigJsonReader, SameKeyInSiblingSectionsIsNotADuplicate) {
  const Config config = parse_config_json(R"({"fp16": {"enabled": false}, "bf16": {"enabled": true}})");
  EXPECT_FALSE(config.fp16.enabled);
  EXPECT_TRUE(config.bf16.enabled);
}

TEST(ConfigJsonReader, SyntaxErrorsAreLocatedByLineAndColumn) {
  // Line 2 is `  "steps_per_print": @`: two spaces, 17 characters of quoted key, ':' and ' ' put
  // the '@' in column 2 + 17 + 2 + 1 = 22.
  const std::string located = error_of("{\n  \"steps_per_print\": @\n}");
  EXPECT_EQ(located.substr(0, located.find("invalid JSON")), "r.json:2:22: ") << located;
  const std::string first = error_of("@");
  EXPECT_EQ(first.substr(0, first.find("invalid JSON")), "r.json:1:1: ") << first;
}

TEST(ConfigJsonReader, SourceNamePrefixesEveryMessage) {
  try {
    parse_config_json(R"({"zero_optimization": {"stage": 9}})", "ds_config.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "ds_config.json: zero_optimization.stage: value out of range (got 9); expected an integer from 0 to 3");
  }
}

TEST(ConfigJsonReader, DeepNestingIsAnErrorNotACrash) {
  // Nesting is bounded at 64 levels so hostile input cannot exhaust the stack.
  const std::string deep = "{\"tensorboard\": " + std::string(200, '[') + std::string(200, ']') + "}";
  EXPECT_EQ(error_of(deep), "r.json: nesting too deep (got more than 64 levels); expected a DeepSpeed config (a few levels)");
  const std::string shallow = "{\"tensorboard\": " + std::string(10, '[') + std::string(10, ']') + "}";
  EXPECT_EQ(error_of(shallow), "no error");
}

}  // namespace
}  // namespace ds::configs
