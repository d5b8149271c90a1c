// detail::normalize_legacy_keys (configs/detail/legacy_keys.cpp): the spellings DeepSpeed still
// reads but deprecates (runtime/zero/config.py cpu_offload* and read_zero_config_deprecated,
// precision_config.py BFLOAT16_OLD), rewritten to today's keys with a warning each.
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

std::string error_of(Document doc) {
  SourceInfo source{"r.json", false, {}};
  try {
    detail::normalize_legacy_keys(doc, source);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigLegacyKeys, DeprecatedSpellingsAreReadAsTheCurrentKeys) {
  test::CapturedWarnings warnings;
  const Config config = parse_config_json(R"({
    "bfloat16": {"enabled": true},
    "zero_optimization": {"stage": 3, "cpu_offload": true, "cpu_offload_param": true,
                          "cpu_offload_use_pin_memory": true, "prefetch_bucket_size": 1000,
                          "stage3_gather_fp16_weights_on_model_save": true}})",
                                          "old.json");
  EXPECT_TRUE(config.bf16.enabled);
  EXPECT_EQ(config.zero_optimization.offload_optimizer.device, OffloadDevice::kCpu);
  EXPECT_EQ(config.zero_optimization.offload_param.device, OffloadDevice::kCpu);
  EXPECT_TRUE(config.zero_optimization.offload_optimizer.pin_memory);
  EXPECT_TRUE(config.zero_optimization.offload_param.pin_memory);
  EXPECT_EQ(config.zero_optimization.stage3_prefetch_bucket_size, 1000);
  EXPECT_TRUE(config.zero_optimization.stage3_gather_16bit_weights_on_model_save);
  ASSERT_EQ(warnings.lines().size(), 6u);
  EXPECT_EQ(warnings.lines()[0], "old.json: bfloat16: deprecated key, read as 'bf16'");
  // Written back in today's spelling.
  EXPECT_NE(to_json(config).find("\"offload_param\""), std::string::npos);
  EXPECT_EQ(to_json(config).find("cpu_offload"), std::string::npos);
}

TEST(ConfigLegacyKeys, OldBooleanZeroSection) {
  test::CapturedWarnings warnings;
  // read_zero_config_deprecated: stage = 1 if param_dict["zero_optimization"] else 0.
  EXPECT_EQ(parse_config_json(R"({"zero_optimization": true})").zero_optimization.stage, 1);
  EXPECT_EQ(parse_config_json(R"({"zero_optimization": false})").zero_optimization.stage, 0);
  ASSERT_EQ(warnings.lines().size(), 2u);
  EXPECT_EQ(warnings.lines()[0], "config: zero_optimization: deprecated boolean form, read as {\"stage\": 1}");
}

TEST(ConfigLegacyKeys, CpuOffloadFalseMeansNoOffloadSection) {
  test::CapturedWarnings warnings;
  Document doc = Document::parse(R"({"zero_optimization": {"stage": 2, "cpu_offload": false, "cpu_offload_param": false}})");
  SourceInfo source{"r.json", false, {}};
  detail::normalize_legacy_keys(doc, source);
  EXPECT_EQ(doc, Document::parse(R"({"zero_optimization": {"stage": 2}})"));
  EXPECT_EQ(warnings.lines().size(), 2u);
}

TEST(ConfigLegacyKeys, PinMemoryKeepsAnExplicitValueAndNeedsAnOffloadSection) {
  // ds sets pin_memory of the offload sections, like DeepSpeed before its pydantic config; current
  // DeepSpeed only warns (zero/config.py: cpu_offload_use_pin_memory has "set_new_param": False).
  test::CapturedWarnings warnings;
  Document doc = Document::parse(R"({"zero_optimization": {"stage": 3, "cpu_offload_use_pin_memory": true,
    "offload_optimizer": {"device": "cpu", "pin_memory": false}, "offload_param": {"device": "cpu"}}})");
  SourceInfo source{"r.json", false, {}};
  detail::normalize_legacy_keys(doc, source);
  EXPECT_EQ(doc["zero_optimization"], Document::parse(R"({"stage": 3, "offload_optimizer": {"device": "cpu",
    "pin_memory": false}, "offload_param": {"device": "cpu", "pin_memory": true}})"));
  Document alone = Document::parse(R"({"zero_optimization": {"cpu_offload_use_pin_memory": true}})");
  detail::normalize_legacy_keys(alone, source);
  EXPECT_EQ(alone, Document::parse(R"({"zero_optimization": {}})"));
}

TEST(ConfigLegacyKeys, OldAndNewSpellingTogetherIsAnError) {
  EXPECT_EQ(error_of(Document::parse(R"({"bfloat16": {}, "bf16": {}})")),
            "r.json: bfloat16: set twice, also as 'bf16'; expected one of the two; hint: 'bfloat16' is DeepSpeed's "
            "older name for 'bf16'");
  EXPECT_EQ(error_of(Document::parse(R"({"zero_optimization": {"max_live_parameters": 1, "stage3_max_live_parameters": 2}})")),
            "r.json: zero_optimization.max_live_parameters: set twice, also as "
            "'zero_optimization.stage3_max_live_parameters'; expected one of the two; hint: 'max_live_parameters' is "
            "DeepSpeed's older name for 'stage3_max_live_parameters'");
}

TEST(ConfigLegacyKeys, BooleanOnlyKeysRejectOtherTypes) {
  EXPECT_EQ(error_of(Document::parse(R"({"zero_optimization": {"cpu_offload": "yes"}})")),
            "r.json: zero_optimization.cpu_offload: wrong type (got \"yes\"); expected true or false");
  EXPECT_EQ(error_of(Document::parse(R"({"zero_optimization": {"cpu_offload_use_pin_memory": 1}})")),
            "r.json: zero_optimization.cpu_offload_use_pin_memory: wrong type (got 1); expected true or false");
}

TEST(ConfigLegacyKeys, RenamedKeysKeepTheirTomlLines) {
  test::CapturedWarnings warnings;
  // The renamed key's lines move with it, so later errors under the new name are still located.
  try {
    parse_config_toml("steps_per_print = 1\n[bfloat16]\nenabled = 3\n", "old.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "old.toml:3: bf16.enabled: wrong type (got 3); expected true or false");
  }
  ASSERT_EQ(warnings.lines().size(), 1u);
  EXPECT_EQ(warnings.lines()[0], "old.toml:2: bfloat16: deprecated key, read as 'bf16'");
}

}  // namespace
}  // namespace ds::configs
