#include "estimators/plan.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

const ModelSpec& llama7b() { return find_model_preset("llama-2-7b")->spec; }

std::vector<std::string> problems(Plan p, const char* model = "llama-2-7b", std::optional<int> world = {}) {
  return plan_problems(p, find_model_preset(model)->spec, world);
}

TEST(Plan, DefaultsAreDeepSpeeds) {
  Plan p;
  EXPECT_EQ(p.reduce_bucket_size, 500'000'000);
  EXPECT_EQ(p.stage3_prefetch_bucket_size, 50'000'000);
  EXPECT_EQ(p.stage3_max_live_parameters, 1'000'000'000);
  EXPECT_EQ(p.stage3_param_persistence_threshold, 100'000);
  EXPECT_FALSE(p.overlap_comm_enabled());
  EXPECT_TRUE(p.fp32_grad_accumulation_enabled());  // bf16 without ZeRO accumulates in fp32
  p.zero_stage = 3;
  EXPECT_TRUE(p.overlap_comm_enabled());  // DeepSpeed turns overlap_comm on for stage 3
  EXPECT_FALSE(p.fp32_grad_accumulation_enabled());
  p.zero_stage = 0;
  p.dtype = DType::kFp16;
  EXPECT_FALSE(p.fp32_grad_accumulation_enabled());
  EXPECT_TRUE(problems(Plan{}).empty());
}

TEST(Plan, ImpossiblePlansSayWhy) {
  Plan p;
  p.tp = 3;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"tp=3 does not divide num_attention_heads=32",
                                                   "tp=3 does not divide num_key_value_heads=32",
                                                   "tp=3 does not divide intermediate_size=11008"}));
  p = Plan{};
  p.tp = 16;  // Llama-3-8B has 8 kv heads
  EXPECT_EQ(problems(p, "llama-3-8b"), (std::vector<std::string>{"tp=16 does not divide num_key_value_heads=8"}));
  p = Plan{};
  p.pp = 40;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"pp=40 exceeds num_hidden_layers=32 (every stage needs at least one layer)"}));
  p = Plan{};
  p.zero_stage = 2;
  p.offload_param = OffloadDevice::kCpu;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"offload_param=cpu needs ZeRO stage 3 (got stage 2)"}));
  p = Plan{};
  p.offload_optimizer = OffloadDevice::kCpu;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"offload_optimizer=cpu needs ZeRO stage 1, 2 or 3 (got stage 0)"}));
  p = Plan{};
  p.zero_stage = 1;
  p.offload_optimizer = OffloadDevice::kNvme;
  EXPECT_EQ(problems(p), (std::vector<std::string>{
                             "offload_optimizer=nvme needs ZeRO stage 3 (got stage 1); stages 1 and 2 offload to cpu only"}));
  p = Plan{};
  p.zero_stage = 3;
  p.pp = 2;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"ZeRO stage 3 cannot be combined with pipeline parallelism (pp=2); "
                                                   "DeepSpeed's pipeline engine supports stages 0 and 1"}));
  p = Plan{};
  p.zero_stage = 4;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"zero_stage=4 is not a ZeRO stage (expected 0, 1, 2 or 3)"}));
}

TEST(Plan, PartialOffloadNeedsStage3) {
  Plan p;
  p.zero_stage = 2;
  p.offload_optimizer = OffloadDevice::kCpu;
  p.offload_optimizer_ratio = 0.5;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"a partial optimizer offload (ratio < 1) needs ZeRO stage 3 (got stage 2)"}));
  p.zero_stage = 3;
  EXPECT_TRUE(problems(p).empty());
  p.offload_optimizer_ratio = 1.5;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"offload_optimizer ratio=1.5 must be between 0 and 1"}));
}

TEST(Plan, AsRunByDsRecomputesAtShardedZero3Only) {
  Plan p;
  p.zero_stage = 3;
  p.dp = 2;
  p.checkpointing = Checkpointing::kNone;
  EXPECT_FALSE(p.ds_recomputes_every_block());  // DeepSpeed's engine: as the config says
  auto ran = ds::estimators::as_run_by_ds(p);
  EXPECT_EQ(ran.engine, ds::estimators::Engine::kDs);
  EXPECT_EQ(ran.checkpointing, Checkpointing::kFull);
  p.checkpointing = Checkpointing::kSelective;
  EXPECT_EQ(ds::estimators::as_run_by_ds(p).checkpointing, Checkpointing::kFull);
  // One rank without parameter offload runs the single-process optimizer: no recompute.
  p.dp = 1;
  EXPECT_EQ(ds::estimators::as_run_by_ds(p).checkpointing, Checkpointing::kSelective);
  p.offload_param = OffloadDevice::kCpu;
  EXPECT_EQ(ds::estimators::as_run_by_ds(p).checkpointing, Checkpointing::kFull);
  p = Plan{};
  p.zero_stage = 2;
  p.dp = 4;
  EXPECT_EQ(ds::estimators::as_run_by_ds(p).checkpointing, Checkpointing::kNone);
}

TEST(Plan, SizesAndWorld) {
  Plan p;
  p.micro_batch = 0;
  p.dp = 0;
  p.seq_len = 2048;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"dp=0 must be at least 1", "micro_batch=0 must be at least 1"}));
  p = Plan{};
  p.sp = 3;
  p.seq_len = 4096;
  EXPECT_EQ(problems(p), (std::vector<std::string>{"sp=3 does not divide num_attention_heads=32",
                                                   "sp=3 does not divide seq_len=4096"}));
  p = Plan{};
  p.seq_len = 2048;
  EXPECT_EQ(problems(p, "gpt2"),
            (std::vector<std::string>{"seq_len=2048 exceeds n_positions=1024 of a model with learned positions"}));
  p = Plan{};
  p.dp = 2;
  p.tp = 2;
  EXPECT_EQ(problems(p, "llama-2-7b", 8),
            (std::vector<std::string>{"dp*tp*pp*sp = 2*2*1*1 = 4 does not equal the 8 ranks of the cluster"}));
  EXPECT_TRUE(problems(p, "llama-2-7b", 4).empty());
}

TEST(Plan, ValidateJoinsTheReasons) {
  Plan p;
  p.zero_stage = 1;
  p.offload_param = OffloadDevice::kNvme;
  p.pp = 64;
  try {
    validate_plan(p, llama7b());
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "plan: offload_param=nvme needs ZeRO stage 3 (got stage 1); pp=64 exceeds "
                           "num_hidden_layers=32 (every stage needs at least one layer)");
  }
}

TEST(Plan, ParsersListTheChoices) {
  EXPECT_EQ(parse_offload("CPU", "--offload-optimizer"), OffloadDevice::kCpu);
  EXPECT_EQ(parse_dtype("fp16", "--dtype"), DType::kFp16);
  EXPECT_EQ(parse_checkpointing("selective", "--checkpointing"), Checkpointing::kSelective);
  EXPECT_EQ(parse_engine("DS", "--engine"), Engine::kDs);
  EXPECT_EQ(parse_engine("deepspeed", "--engine"), Engine::kDeepSpeed);
  EXPECT_EQ(engine_name(Engine::kDs), "ds");
  Plan p;
  parse_optimizer("sgd-momentum", "--optimizer", p);
  EXPECT_EQ(p.optimizer, OptimizerKind::kSgd);
  EXPECT_TRUE(p.sgd_momentum);
  try {
    parse_dtype("bf61", "--dtype");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--dtype: unknown value (got 'bf61'); expected one of fp32, fp16, bf16; did you mean 'bf16'?");
  }
  try {
    parse_offload("disk", "--offload-param");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--offload-param: unknown value (got 'disk'); expected one of none, cpu, nvme");
  }
}

}  // namespace
}  // namespace ds::estimators
