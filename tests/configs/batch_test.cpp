// The batch rule: train_batch_size = micro * accumulation * dp, with DeepSpeed's derivations
// (runtime/config.py _set_batch_related_parameters) when some are missing.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/error.hpp"
#include "configs/batch.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

Config batch(std::optional<std::int64_t> tbs, std::optional<std::int64_t> micro, std::optional<std::int64_t> gas) {
  Config config;
  config.train_batch_size = tbs;
  config.train_micro_batch_size_per_gpu = micro;
  config.gradient_accumulation_steps = gas;
  return config;
}

struct RuleCase {
  const char* name;
  std::optional<std::int64_t> tbs, micro, gas;
  int dp;
  ResolvedBatch expected;
};

std::ostream& operator<<(std::ostream& os, const RuleCase& c) { return os << c.name; }

const RuleCase kCases[] = {
    {"all_three", 64, 4, 2, 8, {64, 4, 2}},
    {"tbs_and_micro_derive_accumulation", 64, 4, std::nullopt, 4, {64, 4, 4}},
    {"tbs_and_accumulation_derive_micro", 64, std::nullopt, 4, 4, {64, 4, 4}},
    {"micro_and_accumulation_derive_tbs", std::nullopt, 2, 8, 16, {256, 2, 8}},
    {"tbs_alone_accumulation_one", 32, std::nullopt, std::nullopt, 8, {32, 4, 1}},
    {"micro_alone_accumulation_one", std::nullopt, 3, std::nullopt, 5, {15, 3, 1}},
    {"single_rank", 16, 16, std::nullopt, 1, {16, 16, 1}},
};

class ConfigBatchRuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(ConfigBatchRuleTest, ResolvesLikeDeepSpeed) {
  const RuleCase& c = GetParam();
  EXPECT_EQ(resolve_batch(batch(c.tbs, c.micro, c.gas), c.dp), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Rule, ConfigBatchRuleTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

std::string error_of(const Config& config, int dp) {
  try {
    resolve_batch(config, dp, "run.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigBatchRule, InconsistentNumbersShowTheRule) {
  EXPECT_EQ(error_of(batch(32, 4, 2), 2),
            "run.json: train_batch_size: batch sizes disagree (got train_batch_size=32, "
            "train_micro_batch_size_per_gpu=4, gradient_accumulation_steps=2, data-parallel size=2); expected "
            "train_batch_size = train_micro_batch_size_per_gpu * gradient_accumulation_steps * data-parallel size = "
            "4 * 2 * 2 = 16; hint: give two of the three and ds derives the third");
}

TEST(ConfigBatchRule, DerivedValueThatRoundsDownIsNamed) {
  // DeepSpeed: gas = 30 // 4 // 2 = 3, then 30 != 4 * 3 * 2.
  EXPECT_EQ(error_of(batch(30, 4, std::nullopt), 2),
            "run.json: train_batch_size: batch sizes disagree (got train_batch_size=30, "
            "train_micro_batch_size_per_gpu=4, gradient_accumulation_steps=3, data-parallel size=2); expected "
            "train_batch_size = train_micro_batch_size_per_gpu * gradient_accumulation_steps * data-parallel size = "
            "4 * 3 * 2 = 24; hint: gradient_accumulation_steps was derived by rounding down (as DeepSpeed does); pick "
            "sizes that divide evenly");
}

TEST(ConfigBatchRule, DerivedZeroIsAnError) {
  EXPECT_NE(error_of(batch(4, std::nullopt, std::nullopt), 8).find("train_micro_batch_size_per_gpu=0"),
            std::string::npos);
}

TEST(ConfigBatchRule, NothingGiven) {
  EXPECT_EQ(error_of(batch(std::nullopt, std::nullopt, 4), 1),
            "run.json: train_batch_size: no batch size given; expected train_batch_size or "
            "train_micro_batch_size_per_gpu (or both); hint: DeepSpeed needs one of them too; with only one, "
            "accumulation is 1");
}

TEST(ConfigBatchRule, BadDataParallelSize) {
  EXPECT_EQ(error_of(batch(8, std::nullopt, std::nullopt), 0),
            "run.json: data-parallel size must be positive (got 0); expected an integer >= 1");
}

TEST(ConfigBatchRule, AutoMustBeResolvedFirst) {
  const Config config = parse_config_json(R"({"train_batch_size": "auto", "train_micro_batch_size_per_gpu": 2})");
  EXPECT_EQ(error_of(config, 1),
            "run.json: train_batch_size: still \"auto\"; expected a number; hint: resolve \"auto\" first "
            "(resolve_auto; `ds config check` does it)");
}

TEST(ConfigBatchRule, WithResolvedBatchMarksTheKeysSet) {
  const Config config = with_resolved_batch(batch(std::nullopt, 2, 4), 4);
  EXPECT_EQ(config.train_batch_size, 32);
  EXPECT_TRUE(config.is_set("train_batch_size"));
  EXPECT_EQ(to_json(config), "{\n  \"train_batch_size\": 32,\n  \"train_micro_batch_size_per_gpu\": 2,\n"
                             "  \"gradient_accumulation_steps\": 4\n}\n");
}

}  // namespace
}  // namespace ds::configs
