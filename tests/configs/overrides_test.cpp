#include "configs/overrides.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

Config base() {
  return parse_config_json(R"({"train_micro_batch_size_per_gpu": 4, "zero_optimization": {"stage": 1},
                               "optimizer": {"type": "AdamW", "params": {"lr": 0.001}}})");
}

TEST(ParseOverride, SplitsAtTheFirstEquals) {
  Override o = parse_override("ds.model=a=b");
  EXPECT_EQ(o.key, "ds.model");
  EXPECT_EQ(o.value, "a=b");
}

TEST(ParseOverride, RejectsMissingEqualsAndEmptyComponents) {
  EXPECT_THROW(parse_override("zero_optimization.stage"), UsageError);
  EXPECT_THROW(parse_override("=3"), UsageError);
  try {
    parse_override("a..b=1");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("empty component"), std::string::npos);
  }
}

TEST(ApplyOverrides, NumbersBooleansAndBareStrings) {
  Config c = apply_overrides(base(), {parse_override("zero_optimization.stage=2"),
                                      parse_override("optimizer.params.lr=3e-4"), parse_override("bf16.enabled=true"),
                                      parse_override("ds.model=llama-3.2-1b"),
                                      parse_override("zero_optimization.offload_optimizer.device=cpu")});
  EXPECT_EQ(c.zero_optimization.stage, 2);
  EXPECT_DOUBLE_EQ(c.optimizer.params.lr, 3e-4);
  EXPECT_TRUE(c.bf16.enabled);
  EXPECT_EQ(c.ds.model, "llama-3.2-1b");
  EXPECT_EQ(c.zero_optimization.offload_optimizer.device, OffloadDevice::kCpu);
  // Untouched keys survive, and the overridden ones count as set by the user.
  EXPECT_EQ(c.train_micro_batch_size_per_gpu, 4);
  EXPECT_TRUE(c.is_set("bf16.enabled"));
}

TEST(ApplyOverrides, LaterOverridesWinAndArraysParse) {
  Config c = apply_overrides(base(), {parse_override("zero_optimization.stage=2"),
                                      parse_override("zero_optimization.stage=3"),
                                      parse_override("optimizer.params.betas=[0.8,0.95]")});
  EXPECT_EQ(c.zero_optimization.stage, 3);
  EXPECT_DOUBLE_EQ(c.optimizer.params.betas[1], 0.95);
}

TEST(ApplyOverrides, AutoStaysAuto) {
  Config c = apply_overrides(base(), {parse_override("train_micro_batch_size_per_gpu=\"auto\"")});
  EXPECT_TRUE(c.is_auto("train_micro_batch_size_per_gpu"));
}

TEST(ApplyOverrides, UnknownKeyIsAConfigErrorWithASuggestion) {
  try {
    apply_overrides(base(), {parse_override("zero_optimization.stagee=2")}, "--set");
    FAIL();
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("stagee"), std::string::npos) << m;
    EXPECT_NE(m.find("stage"), std::string::npos) << m;
  }
}

TEST(ApplyOverrides, BadValueIsAConfigError) {
  EXPECT_THROW(apply_overrides(base(), {parse_override("zero_optimization.stage=7")}), ConfigError);
}

TEST(ApplyOverrides, PathThroughAValueIsAUsageError) {
  EXPECT_THROW(apply_overrides(base(), {parse_override("zero_optimization.stage.x=1")}), UsageError);
}

TEST(ApplyOverrides, NoOverridesReturnsTheConfigUnchanged) {
  Config c = base();
  EXPECT_EQ(apply_overrides(c, {}), c);
}

}  // namespace
}  // namespace ds::configs
