// Bad inputs and the exact message each one gets (STYLE.md §7, §8). Every case must end in a
// ConfigError (exit code 2), never a crash or another exception type.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

struct BadInput {
  const char* name;
  bool toml;
  std::string text;
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const BadInput& b) { return os << b.name; }

const BadInput kBadInputs[] = {
    {"typo_top_level", false, R"({"train_batch_sise": 8})",
     "bad.json: train_batch_sise: unknown key; did you mean 'train_batch_size'?"},
    {"typo_nested", false, R"({"zero_optimization": {"stag": 2}})",
     "bad.json: zero_optimization.stag: unknown key; did you mean 'zero_optimization.stage'?"},
    {"key_in_wrong_section", false, R"({"train_batch_size": 8, "stage": 2})",
     "bad.json: stage: unknown key; did you mean 'zero_optimization.stage'?"},
    {"unknown_key_no_suggestion", false, R"({"zero_optimization": {"stage": 1, "qqqqqqqq": 1}})",
     "bad.json: zero_optimization.qqqqqqqq: unknown key; hint: docs/config.md lists the keys of 'zero_optimization'"},
    {"wrong_type_string_for_int", false, R"({"zero_optimization": {"stage": "three"}})",
     "bad.json: zero_optimization.stage: wrong type (got \"three\"); expected an integer from 0 to 3"},
    {"out_of_range", false, R"({"zero_optimization": {"stage": 4}})",
     "bad.json: zero_optimization.stage: value out of range (got 4); expected an integer from 0 to 3"},
    {"fractional_batch", false, R"({"train_micro_batch_size_per_gpu": 2.5})",
     "bad.json: train_micro_batch_size_per_gpu: wrong type (got 2.5); expected an integer >= 1"},
    {"zero_batch", false, R"({"train_batch_size": 0})",
     "bad.json: train_batch_size: value out of range (got 0); expected an integer >= 1"},
    {"bool_as_string", false, R"({"fp16": {"enabled": "true"}})",
     "bad.json: fp16.enabled: wrong type (got \"true\"); expected true or false"},
    {"bad_enum_with_suggestion", false,
     R"({"zero_optimization": {"stage": 2, "offload_optimizer": {"device": "gpu"}}})",
     "bad.json: zero_optimization.offload_optimizer.device: unknown value (got \"gpu\"); expected one of \"none\", "
     "\"cpu\", \"nvme\"; did you mean 'cpu'?"},
    {"auto_not_allowed", false, R"({"zero_optimization": {"stage": "auto"}})",
     "bad.json: zero_optimization.stage: \"auto\" is not accepted here (got \"auto\"); expected an integer from 0 to "
     "3; hint: \"auto\" works only for the keys docs/config.md marks as auto"},
    {"section_not_object", false, R"({"fp16": true})", "bad.json: fp16: wrong type (got true); expected an object"},
    {"top_level_not_object", false, R"([1, 2])",
     "bad.json: the top level must be an object (got [1,2]); expected { \"key\": value, ... }"},
    {"betas_wrong_length", false, R"({"optimizer": {"type": "AdamW", "params": {"betas": [0.9]}}})",
     "bad.json: optimizer.params.betas: wrong type (got [0.9]); expected an array of 2 numbers from 0 to 1"},
    {"param_of_other_optimizer", false,
     R"({"optimizer": {"type": "SGD", "params": {"lr": 0.1, "betas": [0.9, 0.99]}}})",
     "bad.json: optimizer.params.betas: unknown key for optimizer type SGD; expected one of lr, weight_decay, "
     "momentum, dampening, nesterov"},
    {"missing_optimizer_type", false, R"({"optimizer": {"params": {"lr": 0.001}}})",
     "bad.json: optimizer.type: missing key; expected one of \"Adam\", \"AdamW\", \"Lamb\", \"Lion\", \"Adagrad\", "
     "\"SGD\", \"OneBitAdam\", \"ZeroOneAdam\", \"OneBitLamb\""},
    {"scheduler_type_case", false, R"({"scheduler": {"type": "WarmupLr"}})",
     "bad.json: scheduler.type: unknown value (got \"WarmupLr\"); expected one of \"WarmupLR\", \"WarmupDecayLR\", "
     "\"WarmupCosineLR\", \"OneCycle\", \"LRRangeTest\"; did you mean 'WarmupLR'?"},
    {"scheduler_missing_total", false, R"({"scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": 10}}})",
     "bad.json: scheduler.params.total_num_steps: missing key; expected an integer >= 1 or \"auto\"; hint: "
     "scheduler type WarmupDecayLR needs it"},
    {"fp16_and_bf16", false, R"({"fp16": {"enabled": true}, "bf16": {"enabled": true}})",
     "bad.json: fp16.enabled, bf16.enabled: both enabled (got true and true); expected at most one of fp16 and bf16; "
     "hint: pick one; bf16 needs no loss scaling"},
    {"offload_param_below_stage3", false,
     R"({"zero_optimization": {"stage": 2, "offload_param": {"device": "cpu"}}})",
     "bad.json: zero_optimization.offload_param: parameter offload needs ZeRO stage 3 (got stage 2); expected "
     "zero_optimization.stage 3; hint: set \"stage\": 3 or remove offload_param"},
    {"nvme_without_path", false,
     R"({"zero_optimization": {"stage": 3, "offload_optimizer": {"device": "nvme"}}})",
     "bad.json: zero_optimization.offload_optimizer.nvme_path: missing for device \"nvme\"; expected a directory on a "
     "fast local drive; hint: e.g. \"nvme_path\": \"/local_nvme\""},
    {"batch_not_whole", false,
     R"({"train_batch_size": 30, "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 2})",
     "bad.json: train_batch_size: not a multiple of micro batch * accumulation (got train_batch_size=30, "
     "train_micro_batch_size_per_gpu=4, gradient_accumulation_steps=2); expected train_batch_size = "
     "train_micro_batch_size_per_gpu * gradient_accumulation_steps * data-parallel size; hint: give two of the "
     "three and ds derives the third"},
    {"deprecated_and_new", false,
     R"({"zero_optimization": {"stage": 2, "cpu_offload": true, "offload_optimizer": {"device": "cpu"}}})",
     "bad.json: zero_optimization.cpu_offload: set twice, also as 'zero_optimization.offload_optimizer'; expected "
     "one of the two; hint: 'cpu_offload' is DeepSpeed's older name for 'offload_optimizer'"},
    {"bad_checkpoint_policy", false, R"({"ds": {"activation_checkpointing": "every-0"}})",
     "bad.json: ds.activation_checkpointing: unknown value (got \"every-0\"); expected \"none\", \"full\", "
     "\"selective\" or \"every-N\" (N >= 1); did you mean 'every-2'?"},
    {"duplicate_key", false, "{\"zero_optimization\": {\"stage\": 1, \"stage\": 2}}",
     "bad.json: zero_optimization.stage: duplicate key; expected each key once; hint: DeepSpeed rejects duplicate "
     "keys too; keep the one you mean"},
    {"json_syntax", false, "{\"train_batch_size\": 8,\n  \"fp16\": {enabled: true}}",
     "bad.json:2:12: invalid JSON: syntax error while parsing object key - invalid literal; last read: "
     "'\"fp16\": {e'; expected string literal"},
    {"json_empty", false, "", "bad.json:1:1: invalid JSON: syntax error while parsing value - unexpected end of "
                              "input; expected '[', '{', or a literal"},
    {"toml_wrong_type_located", true, "train_batch_size = 8\n\n[zero_optimization]\nstage = \"two\"\n",
     "bad.toml:4: zero_optimization.stage: wrong type (got \"two\"); expected an integer from 0 to 3"},
    {"toml_unknown_key_located", true, "[fp16]\nenabled = true\nloss_scale_windo = 100\n",
     "bad.toml:3: fp16.loss_scale_windo: unknown key; did you mean 'fp16.loss_scale_window'?"},
    {"toml_syntax", true, "[zero_optimization]\nstage = \n",
     "bad.toml:2:9: invalid TOML: Error while parsing key-value pair: expected value, saw '\\n'"},
    {"toml_date", true, "[ds]\nseed = 1979-05-27\n",
     "bad.toml:2: ds.seed: dates and times have no meaning in a ds config (got 1979-05-27); expected a number, "
     "string, boolean, array or table"},
    {"toml_section_not_table", true, "fp16 = 1\n", "bad.toml:1: fp16: wrong type (got 1); expected a table"},
};

class ConfigBadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(ConfigBadInputTest, GivesExactMessage) {
  const BadInput& b = GetParam();
  try {
    if (b.toml) parse_config_toml(b.text, "bad.toml");
    else parse_config_json(b.text, "bad.json");
    FAIL() << "accepted: " << b.text;
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), b.message);
    EXPECT_EQ(e.exit_code(), 2);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigBadInputTest, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ds::configs
