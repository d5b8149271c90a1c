// parse_config_toml (configs/toml_reader.cpp): the same keys as DeepSpeed JSON with sections as
// tables; errors located by the line of the offending key; no dates, times, inf or nan.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config_toml(text, "r.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigTomlReader, LocatesErrorsByLine) {
  const std::string text = "steps_per_print = 5\n[optimizer]\ntype = \"AdamW\"\n\n[optimizer.params]\nlr = -1.0\n";
  EXPECT_EQ(error_of(text), "r.toml:6: optimizer.params.lr: value out of range (got -1.0); expected a number >= 0");
}

TEST(ConfigTomlReader, LocatesErrorsInDottedKeysByTheirLine) {
  EXPECT_EQ(error_of("steps_per_print = 5\nzero_optimization.stage = 9\n"),
            "r.toml:2: zero_optimization.stage: value out of range (got 9); expected an integer from 0 to 3");
}

TEST(ConfigTomlReader, DottedKeysAndInlineTablesAreSections) {
  const Config dotted =
      parse_config_toml("zero_optimization.stage = 2\nzero_optimization.offload_optimizer = { device = \"cpu\" }\n");
  EXPECT_EQ(dotted.zero_optimization.stage, 2);
  EXPECT_EQ(dotted.zero_optimization.offload_optimizer.device, OffloadDevice::kCpu);
}

TEST(ConfigTomlReader, EmptyTextIsTheDefaultConfig) {
  EXPECT_EQ(parse_config_toml(""), Config{});
  EXPECT_EQ(parse_config_toml("# nothing set\n"), Config{});
}

TEST(ConfigTomlReader, ArraysOfTablesReadLikeJsonArraysOfObjects) {
  const Config toml = parse_config_toml("[[wandb.tags]]\nname = \"a\"\n\n[[wandb.tags]]\nname = \"b\"\n");
  EXPECT_EQ(toml.passthrough.at("wandb"), R"({"tags":[{"name":"a"},{"name":"b"}]})");
  EXPECT_EQ(toml, parse_config_json(R"({"wandb": {"tags": [{"name": "a"}, {"name": "b"}]}})"));
}

TEST(ConfigTomlReader, InfAndNanHaveNoJsonForm) {
  EXPECT_EQ(error_of("gradient_clipping = inf\n"),
            "r.toml:1: gradient_clipping: not a finite number (got inf); expected a finite number");
  EXPECT_EQ(error_of("\ngradient_clipping = -inf\n"),
            "r.toml:2: gradient_clipping: not a finite number (got -inf); expected a finite number");
  EXPECT_EQ(error_of("[wandb]\nx = [1.0, nan]\n"), "r.toml:2: wandb.x: not a finite number (got nan); expected a finite number");
}

TEST(ConfigTomlReader, TimesAndDateTimesAreRejectedLikeDates) {
  EXPECT_EQ(error_of("[wandb]\nat = 07:32:00\n"),
            "r.toml:2: wandb.at: dates and times have no meaning in a ds config (got 07:32:00); expected a number, "
            "string, boolean, array or table");
  EXPECT_EQ(error_of("[wandb]\n\nat = 1979-05-27T07:32:00Z\n"),
            "r.toml:3: wandb.at: dates and times have no meaning in a ds config (got 1979-05-27T07:32:00Z); expected "
            "a number, string, boolean, array or table");
}

TEST(ConfigTomlReader, SyntaxErrorsAreLocatedByLineAndColumn) {
  // Line 3 is `stage = 2 3`: the stray '3' is in column 11.
  const std::string located = error_of("[zero_optimization]\n\nstage = 2 3\n");
  EXPECT_EQ(located.substr(0, located.find("invalid TOML")), "r.toml:3:11: ") << located;
}

}  // namespace
}  // namespace ds::configs
