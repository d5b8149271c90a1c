// The schema walk (configs/detail/reader.cpp): read_document, where, join_path, render_value, and
// the reading rules shared by JSON and TOML (number forms, nulls, "auto", passthrough keys).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"
#include "configs/config_io.hpp"
#include "configs/detail/document.hpp"
#include "tests/support/captured_warnings.hpp"

namespace ds::configs {
namespace {

using detail::Document;
using detail::SourceInfo;

std::string error_of(const std::string& json) {
  try {
    parse_config_json(json, "r.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigReader, WhereUsesTheNearestRecordedLine) {
  const SourceInfo toml{"c.toml", true, {{"zero_optimization", 3}, {"zero_optimization.stage", 4}}};
  EXPECT_EQ(detail::where(toml, "zero_optimization.stage"), "c.toml:4: zero_optimization.stage");
  EXPECT_EQ(detail::where(toml, "zero_optimization.offload_param.device"), "c.toml:3: zero_optimization.offload_param.device");
  EXPECT_EQ(detail::where(toml, "fp16.enabled"), "c.toml: fp16.enabled");
  EXPECT_EQ(detail::where(toml, ""), "c.toml");
  EXPECT_EQ(detail::join_path("", "stage"), "stage");
  EXPECT_EQ(detail::join_path("zero_optimization.offload_param", "device"), "zero_optimization.offload_param.device");
}

TEST(ConfigReader, RenderValueCutsLongValuesAtFortyCharacters) {
  EXPECT_EQ(detail::render_value(Document::parse(R"({"a": [1, 2.5]})")), R"({"a":[1,2.5]})");
  // 50 x's dump to 52 characters: keep 37 (the quote and 36 x's) and add "...".
  EXPECT_EQ(detail::render_value(Document(std::string(50, 'x'))), "\"" + std::string(36, 'x') + "...");
}

TEST(ConfigReader, TopLevelMustBeAnObjectOrTable) {
  try {
    detail::read_document(Document::array(), SourceInfo{"t.toml", true, {}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "t.toml: the top level must be a table (got []); expected key = value lines");
  }
}

TEST(ConfigReader, IntegersWrittenAsFloats) {
  const Config config = parse_config_json(R"({"zero_optimization": {"reduce_bucket_size": 5e8, "sub_group_size": 1e9}})");
  EXPECT_EQ(config.zero_optimization.reduce_bucket_size, 500000000);
  EXPECT_EQ(config.zero_optimization.sub_group_size, 1000000000);
  EXPECT_EQ(error_of(R"({"zero_optimization": {"reduce_bucket_size": 1e30}})"),
            "r.json: zero_optimization.reduce_bucket_size: wrong type (got 1e+30); expected an integer >= 0");
  EXPECT_EQ(error_of(R"({"aio": {"queue_depth": 3000000000}})"),
            "r.json: aio.queue_depth: value out of range (got 3000000000); expected an integer from 1 to 2.14748e+09");
}

TEST(ConfigReader, NumbersWhereFloatsAreExpected) {
  const Config config = parse_config_json(R"({"gradient_clipping": 1, "fp16": {"loss_scale": 256}})");
  EXPECT_DOUBLE_EQ(config.gradient_clipping, 1.0);
  EXPECT_DOUBLE_EQ(config.fp16.loss_scale, 256.0);
}

TEST(ConfigReader, NullIsTheDefaultOnlyWhereDeepSpeedAllowsNone) {
  const Config config = parse_config_json(R"({"ds": {"model": null}, "train_batch_size": null})");
  EXPECT_EQ(config.ds.model, "");
  EXPECT_FALSE(config.train_batch_size.has_value());
  EXPECT_EQ(error_of(R"({"fp16": {"enabled": null}})"), "r.json: fp16.enabled: wrong type (got null); expected true or false");
}

TEST(ConfigReader, AutoIsRecordedAndEnumsWithAnAutoValueReadIt) {
  const Config config = parse_config_json(R"({"train_batch_size": "auto", "ds": {"backend": "auto"}})");
  EXPECT_TRUE(config.is_auto("train_batch_size"));
  EXPECT_TRUE(config.is_set("train_batch_size"));
  EXPECT_EQ(config.ds.backend, CommBackend::kAuto);
  EXPECT_FALSE(config.is_auto("ds.backend"));
  EXPECT_TRUE(config.is_set("ds.backend"));
}

TEST(ConfigReader, EnumsFollowDeepSpeedsCaseRules) {
  // Optimizer names are lower-cased by DeepSpeed, tag_validation upper-cased; scheduler names exact.
  const Config config = parse_config_json(R"({"optimizer": {"type": "adamw"}, "checkpoint": {"tag_validation": "FAIL"},
                                              "data_types": {"grad_accum_dtype": "half"}})");
  EXPECT_EQ(config.optimizer.type, OptimizerType::kAdamW);
  EXPECT_EQ(config.checkpoint.tag_validation, TagValidation::kFail);
  EXPECT_EQ(config.data_types.grad_accum_dtype, DType::kFp16);
  EXPECT_NE(error_of(R"({"scheduler": {"type": "warmuplr"}})").find("unknown value (got \"warmuplr\")"), std::string::npos);
}

TEST(ConfigReader, PassthroughKeysWarnOnce) {
  test::CapturedWarnings warnings;
  parse_config_json(R"({"tensorboard": {"enabled": true}})", "tb.json");
  ASSERT_EQ(warnings.lines().size(), 1u);
  EXPECT_EQ(warnings.lines()[0], "tb.json: tensorboard: DeepSpeed key that ds does not use; kept as written");
}

TEST(ConfigReader, NullsInKeptValuesAreDropped) {
  const Config config = parse_config_json(R"({"wandb": {"project": null, "tags": [null, "a"]}, "comet": null})");
  EXPECT_EQ(config.passthrough.at("wandb"), R"({"tags":["a"]})");
  EXPECT_EQ(config.passthrough.count("comet"), 0u);
  EXPECT_EQ(parse_config_toml(to_toml(config)), config);
  const Config huge = parse_config_json(R"({"wandb": {"n": 18446744073709551615}})");
  EXPECT_EQ(parse_config_toml(to_toml(huge)), huge);  // TOML integers stop at INT64_MAX
}

}  // namespace
}  // namespace ds::configs
