// configs/config.cpp: compute_dtype, optimizer_defaults, the canonical names (to_string) and the
// ds.activation_checkpointing policy parser.
#include "configs/config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "configs/config_io.hpp"
#include "configs/detail/enum_names.hpp"

namespace ds::configs {
namespace {

TEST(Config, ComputeDtypePrefersDsDtypeThenTheEnabledSection) {
  Config config;
  EXPECT_EQ(compute_dtype(config), DType::kFp32);
  config.fp16.enabled = true;
  EXPECT_EQ(compute_dtype(config), DType::kFp16);
  config.fp16.enabled = false;
  config.bf16.enabled = true;
  EXPECT_EQ(compute_dtype(config), DType::kBf16);
  config.ds.dtype = DType::kFp32;
  EXPECT_EQ(compute_dtype(config), DType::kFp32);
}

TEST(Config, OptimizerDefaultsFollowTheType) {
  EXPECT_DOUBLE_EQ(optimizer_defaults(OptimizerType::kAdagrad).lr, 1e-2);
  EXPECT_DOUBLE_EQ(optimizer_defaults(OptimizerType::kAdagrad).eps, 1e-10);
  const Config config = parse_config_json(R"({"optimizer": {"type": "adagrad"}})", "a.json");
  EXPECT_EQ(config.optimizer.type, OptimizerType::kAdagrad);  // DeepSpeed lower-cases names
  EXPECT_DOUBLE_EQ(config.optimizer.params.lr, 1e-2);
}

TEST(Config, OptimizerDefaultsAreTheConstructorDefaults) {
  // FusedAdam / FusedLamb / FusedLion: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0;
  // FusedLamb max_coeff 10, min_coeff 0.01; torch.optim.SGD lr 1e-3; 1-bit freeze_step 100000.
  for (auto type : {OptimizerType::kNone, OptimizerType::kAdam, OptimizerType::kAdamW, OptimizerType::kLamb,
                    OptimizerType::kLion, OptimizerType::kSGD, OptimizerType::kOneBitAdam, OptimizerType::kOneBitLamb}) {
    const OptimizerParams p = optimizer_defaults(type);
    EXPECT_DOUBLE_EQ(p.lr, 1e-3) << to_string(type);
    EXPECT_EQ(p.betas[0], 0.9);
    EXPECT_EQ(p.betas[1], 0.999);
    EXPECT_DOUBLE_EQ(p.eps, 1e-8);
    EXPECT_EQ(p.weight_decay, 0.0);
    EXPECT_EQ(p.max_coeff, 10.0);
    EXPECT_EQ(p.min_coeff, 0.01);
    EXPECT_EQ(p.freeze_step, 100000);
  }
  // torch.optim.Adagrad(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)
  const OptimizerParams adagrad = optimizer_defaults(OptimizerType::kAdagrad);
  EXPECT_EQ(adagrad.lr_decay, 0.0);
  EXPECT_EQ(adagrad.initial_accumulator_value, 0.0);
  EXPECT_EQ(adagrad.weight_decay, 0.0);
}

TEST(Config, ToStringGivesTheCanonicalNames) {
  EXPECT_EQ(to_string(OffloadDevice::kNvme), "nvme");
  EXPECT_EQ(to_string(DType::kBf16), "bf16");
  EXPECT_EQ(to_string(OptimizerType::kAdamW), "AdamW");
  EXPECT_EQ(to_string(OptimizerType::kSGD), "SGD");
  EXPECT_EQ(to_string(OptimizerType::kNone), "none");
  EXPECT_EQ(to_string(SchedulerType::kWarmupCosineLR), "WarmupCosineLR");
  EXPECT_EQ(to_string(WarmupType::kLinear), "linear");
  EXPECT_EQ(to_string(TagValidation::kWarn), "Warn");
  EXPECT_EQ(to_string(CommBackend::kNccl), "nccl");
  EXPECT_EQ(to_string(CheckpointPolicy{}), "none");
  EXPECT_EQ(to_string(CheckpointPolicy{CheckpointPolicy::Kind::kSelective, 0}), "selective");
  EXPECT_EQ(to_string(CheckpointPolicy{CheckpointPolicy::Kind::kEveryN, 3}), "every-3");
}

TEST(Config, CheckpointPolicyParsesAndRoundTrips) {
  using Kind = CheckpointPolicy::Kind;
  EXPECT_EQ(detail::parse_checkpoint_policy("full"), (CheckpointPolicy{Kind::kFull, 0}));
  EXPECT_EQ(detail::parse_checkpoint_policy("every-1"), (CheckpointPolicy{Kind::kEveryN, 1}));
  EXPECT_EQ(detail::parse_checkpoint_policy("every-12"), (CheckpointPolicy{Kind::kEveryN, 12}));
  for (const char* text : {"none", "full", "selective", "every-4"}) {
    EXPECT_EQ(to_string(*detail::parse_checkpoint_policy(text)), text);
  }
  for (const char* bad : {"Full", "every-", "every-0", "every--1", "every-+2", "every-2x", "every-99999999999", "every"}) {
    EXPECT_FALSE(detail::parse_checkpoint_policy(bad).has_value()) << bad;
  }
}

TEST(Config, EqualNamesIgnoresCaseOnlyWhenAsked) {
  EXPECT_TRUE(detail::equal_names("AdamW", "adamw", true));
  EXPECT_FALSE(detail::equal_names("AdamW", "adamw", false));
  EXPECT_FALSE(detail::equal_names("Adam", "AdamW", true));
  EXPECT_TRUE(detail::equal_names("", "", false));
}

}  // namespace
}  // namespace ds::configs
