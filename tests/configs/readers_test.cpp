// JSON and TOML readers: format details (comments, number forms, deprecated spellings, located
// errors), and that both formats accept exactly the same configs.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "common/log.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

std::string error_of(const std::string& text, bool toml) {
  try {
    if (toml) parse_config_toml(text, "r.toml");
    else parse_config_json(text, "r.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// Captures warnings while a test runs.
class Warnings {
 public:
  Warnings() {
    previous_ = log::set_sink([this](log::Level level, const std::string& message) {
      if (level == log::Level::kWarn) lines_.push_back(message);
    });
  }
  ~Warnings() { log::set_sink(previous_); }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  log::Sink previous_;
  std::vector<std::string> lines_;
};

TEST(ConfigJsonReader, AcceptsCommentsLikeDeepSpeedsHjsonLoader) {
  const Config config = parse_config_json(R"({
    // ZeRO-2 for the 7B run
    "zero_optimization": {"stage": 2 /* gradients partitioned */}
  })");
  EXPECT_EQ(config.zero_optimization.stage, 2);
}

TEST(ConfigJsonReader, IntegersWrittenAsFloats) {
  const Config config = parse_config_json(R"({"zero_optimization": {"reduce_bucket_size": 5e8, "sub_group_size": 1e9}})");
  EXPECT_EQ(config.zero_optimization.reduce_bucket_size, 500000000);
  EXPECT_EQ(config.zero_optimization.sub_group_size, 1000000000);
  EXPECT_EQ(error_of(R"({"zero_optimization": {"reduce_bucket_size": 1e30}})", false),
            "r.json: zero_optimization.reduce_bucket_size: wrong type (got 1e+30); expected an integer >= 0");
  EXPECT_EQ(error_of(R"({"aio": {"queue_depth": 3000000000}})", false),
            "r.json: aio.queue_depth: value out of range (got 3000000000); expected an integer from 1 to 2.14748e+09");
}

TEST(ConfigJsonReader, NumberTooLargeForADouble) {  // found by tests/fuzz/config_fuzz
  EXPECT_EQ(error_of(R"({"gradient_clipping": 1e999})", false), "r.json: invalid JSON: number overflow parsing '1e999'");
}

TEST(ConfigJsonReader, NumbersWhereFloatsAreExpected) {
  const Config config = parse_config_json(R"({"gradient_clipping": 1, "fp16": {"loss_scale": 256}})");
  EXPECT_DOUBLE_EQ(config.gradient_clipping, 1.0);
  EXPECT_DOUBLE_EQ(config.fp16.loss_scale, 256.0);
}

TEST(ConfigJsonReader, DuplicateKeysInsideArraysOfObjects) {
  EXPECT_EQ(error_of(R"({"wandb": {"tags": [{"a": 1, "a": 2}]}})", false),
            "r.json: wandb.tags[].a: duplicate key; expected each key once; hint: DeepSpeed rejects duplicate keys "
            "too; keep the one you mean");
  EXPECT_EQ(error_of(R"({"wandb": {"tags": [{"a": 1}, {"a": 2}]}})", false), "no error");
}

TEST(ConfigJsonReader, DeprecatedSpellingsAreReadAsTheCurrentKeys) {
  Warnings warnings;
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

TEST(ConfigJsonReader, OldBooleanZeroSection) {
  Warnings warnings;
  EXPECT_EQ(parse_config_json(R"({"zero_optimization": true})").zero_optimization.stage, 1);
  EXPECT_EQ(parse_config_json(R"({"zero_optimization": false})").zero_optimization.stage, 0);
}

TEST(ConfigJsonReader, PassthroughKeysWarnOnce) {
  Warnings warnings;
  parse_config_json(R"({"tensorboard": {"enabled": true}})", "tb.json");
  ASSERT_EQ(warnings.lines().size(), 1u);
  EXPECT_EQ(warnings.lines()[0], "tb.json: tensorboard: DeepSpeed key that ds does not use; kept as written");
}

TEST(ConfigTomlReader, LocatesErrorsByLine) {
  const std::string text = "steps_per_print = 5\n[optimizer]\ntype = \"AdamW\"\n\n[optimizer.params]\nlr = -1.0\n";
  EXPECT_EQ(error_of(text, true), "r.toml:6: optimizer.params.lr: value out of range (got -1.0); expected a number >= 0");
}

TEST(ConfigTomlReader, DottedKeysAndInlineTablesAreSections) {
  const Config dotted = parse_config_toml("zero_optimization.stage = 2\nzero_optimization.offload_optimizer = { device = \"cpu\" }\n");
  EXPECT_EQ(dotted.zero_optimization.stage, 2);
  EXPECT_EQ(dotted.zero_optimization.offload_optimizer.device, OffloadDevice::kCpu);
}

TEST(ConfigTomlReader, SameAnswersAsJson) {
  const char* json = R"({"train_batch_size": 16, "fp16": {"enabled": true, "loss_scale": 0},
    "optimizer": {"type": "Adam", "params": {"lr": 1e-4, "betas": [0.8, 0.9]}}})";
  const char* toml = "train_batch_size = 16\n[fp16]\nenabled = true\nloss_scale = 0\n"
                     "[optimizer]\ntype = \"Adam\"\n[optimizer.params]\nlr = 1e-4\nbetas = [0.8, 0.9]\n";
  EXPECT_EQ(parse_config_toml(toml), parse_config_json(json));
}

TEST(ConfigTomlReader, InfAndNanHaveNoJsonForm) {
  EXPECT_EQ(error_of("gradient_clipping = inf\n", true),
            "r.toml:1: gradient_clipping: not a finite number (got inf); expected a finite number");
  EXPECT_EQ(error_of("[wandb]\nx = [1.0, nan]\n", true), "r.toml:2: wandb.x: not a finite number (got nan); expected a finite number");
}

TEST(ConfigReaders, NullsInKeptValuesAreDropped) {
  const Config config = parse_config_json(R"({"wandb": {"project": null, "tags": [null, "a"]}, "comet": null})");
  EXPECT_EQ(config.passthrough.at("wandb"), R"({"tags":["a"]})");
  EXPECT_EQ(config.passthrough.count("comet"), 0u);
  EXPECT_EQ(parse_config_toml(to_toml(config)), config);
  const Config huge = parse_config_json(R"({"wandb": {"n": 18446744073709551615}})");
  EXPECT_EQ(parse_config_toml(to_toml(huge)), huge);  // TOML integers stop at INT64_MAX
}

TEST(ConfigTomlReader, InvalidUtf8AndOtherGarbage) {
  EXPECT_NE(error_of("a = \"\xff\"\n", true).find("invalid TOML"), std::string::npos);
  EXPECT_NE(error_of("[[[", true).find("invalid TOML"), std::string::npos);
  EXPECT_NE(error_of("\"\xff\"", false).find("invalid JSON"), std::string::npos);
}

TEST(LoadConfig, ExtensionAndMissingFile) {
  EXPECT_THROW(load_config("/nonexistent/ds_config.json"), UsageError);
  try {
    load_config("ds_config.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "ds_config.yaml: unknown config format (got \".yaml\"); expected a .json or .toml file");
  }
}

}  // namespace
}  // namespace ds::configs
