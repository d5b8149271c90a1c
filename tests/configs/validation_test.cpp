// Cross-field rules (configs/validation.hpp), each with the DeepSpeed check it mirrors.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "configs/config_io.hpp"
#include "configs/validation.hpp"

namespace ds::configs {
namespace {

std::string error_of(const char* json) {
  try {
    parse_config_json(json, "v.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigValidation, OptimizerOffloadNeedsZero) {
  EXPECT_EQ(error_of(R"({"zero_optimization": {"offload_optimizer": {"device": "cpu"}}})"),
            "v.json: zero_optimization.offload_optimizer: optimizer offload needs ZeRO (got stage 0); expected "
            "zero_optimization.stage 1, 2 or 3");
}

TEST(ConfigValidation, PartialOffloadNeedsStage3) {
  EXPECT_EQ(error_of(R"({"zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu", "ratio": 0.5}}})"),
            "v.json: zero_optimization.offload_optimizer.ratio: partial offload needs ZeRO stage 3 (got stage 2); "
            "expected ratio 1 below stage 3");
}

TEST(ConfigValidation, ParamNvmeNeedsPath) {
  EXPECT_EQ(error_of(R"({"zero_optimization": {"stage": 3, "offload_param": {"device": "nvme"}}})"),
            "v.json: zero_optimization.offload_param.nvme_path: missing for device \"nvme\"; expected a directory on "
            "a fast local drive; hint: e.g. \"nvme_path\": \"/local_nvme\"");
}

TEST(ConfigValidation, OffloadNeedsACpuOptimizer) {
  EXPECT_EQ(error_of(R"({"optimizer": {"type": "Lamb"}, "zero_optimization": {"stage": 2,
                         "offload_optimizer": {"device": "cpu"}}})"),
            "v.json: optimizer.type: has no CPU implementation for ZeRO-Offload (got \"Lamb\"); expected \"Adam\", "
            "\"AdamW\", \"Adagrad\" or \"Lion\"; hint: remove offload_optimizer or change the optimizer");
  // DeepSpeed lets zero_force_ds_cpu_optimizer=false run a client optimizer on offloaded states.
  EXPECT_EQ(error_of(R"({"optimizer": {"type": "Lamb"}, "zero_force_ds_cpu_optimizer": false,
                         "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}}})"),
            "no error");
}

TEST(ConfigValidation, DsDtypeMustAgreeWithPrecisionSections) {
  EXPECT_EQ(error_of(R"({"fp16": {"enabled": true}, "ds": {"dtype": "bf16"}})"),
            "v.json: ds.dtype: contradicts fp16.enabled (got \"bf16\"); expected \"fp16\" while fp16.enabled is true; "
            "hint: leave ds.dtype out to follow the fp16/bf16 sections");
  EXPECT_EQ(error_of(R"({"bf16": {"enabled": true}, "ds": {"dtype": "bfloat16"}})"), "no error");
}

TEST(ConfigValidation, AutoPrecisionDoesNotClash) {
  EXPECT_EQ(error_of(R"({"fp16": {"enabled": "auto"}, "bf16": {"enabled": true}})"), "no error");
}

TEST(ConfigValidation, OneCycleNeedsItsBounds) {
  EXPECT_EQ(error_of(R"({"scheduler": {"type": "OneCycle", "params": {"cycle_max_lr": 0.1}}})"),
            "v.json: scheduler.params.cycle_min_lr: missing key; expected a number >= 0; hint: scheduler type "
            "OneCycle needs it");
  EXPECT_EQ(error_of(R"({"scheduler": {"type": "OneCycle", "params": {"cycle_min_lr": 0.1, "cycle_max_lr": 0.01}}})"),
            "v.json: scheduler.params.cycle_max_lr: below cycle_min_lr (got 0.01 < 0.1); expected cycle_max_lr >= "
            "cycle_min_lr");
}

TEST(ConfigValidation, PipelineExcludesZero2And3) {
  EXPECT_EQ(error_of(R"({"pipeline": {"stages": 4}, "zero_optimization": {"stage": 2}})"),
            "v.json: zero_optimization.stage: incompatible with pipeline parallelism (got 2 with pipeline.stages 4); "
            "expected stage 0 or 1 when pipeline.stages > 1");
}

TEST(ConfigValidation, PipelinePartitionMethods) {
  EXPECT_EQ(error_of(R"({"pipeline": {"partition": "type:transformer"}})"), "no error");
  EXPECT_EQ(error_of(R"({"pipeline": {"partition": "even"}})"),
            "v.json: pipeline.partition: unknown value (got \"even\"); expected \"best\", \"parameters\", \"uniform\" "
            "or \"type:<regex>\"");
}

TEST(ConfigValidation, CodeBuiltConfigsCanBeCheckedToo) {
  Config config;
  config.fp16.enabled = true;
  config.bf16.enabled = true;
  EXPECT_THROW(validate(config, "built"), ConfigError);
  EXPECT_NO_THROW(validate(Config{}, "built"));
}

}  // namespace
}  // namespace ds::configs
