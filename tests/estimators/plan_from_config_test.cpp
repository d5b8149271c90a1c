#include "estimators/plan_from_config.hpp"

#include <gtest/gtest.h>

#include "configs/config_io.hpp"
#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

configs::Config example(const char* name) {
  return configs::load_config(std::string(DS_SOURCE_DIR) + "/configs/examples/" + name);
}

const ModelSpec& llama7b() { return find_model_preset("llama-2-7b")->spec; }

TEST(PlanFromConfig, Zero2Bf16) {
  Plan p = plan_from_config(example("zero2_bf16.json"), llama7b(), 8);
  EXPECT_EQ(p.zero_stage, 2);
  EXPECT_EQ(p.offload_optimizer, OffloadDevice::kNone);
  EXPECT_EQ(p.dtype, DType::kBf16);
  EXPECT_EQ(p.optimizer, OptimizerKind::kAdamW);
  EXPECT_EQ(p.micro_batch, 4);
  EXPECT_EQ(p.grad_accum, 8);
  EXPECT_EQ(p.dp, 8);
  EXPECT_EQ(p.seq_len, 4096);  // ds.seq_len unset: the model's context
  EXPECT_EQ(p.reduce_bucket_size, 200'000'000);
  EXPECT_EQ(p.allgather_bucket_size, 200'000'000);
  EXPECT_TRUE(p.overlap_comm_enabled());
  EXPECT_TRUE(p.fp32_grad_accumulation_enabled());  // data_types.grad_accum_dtype: fp32
  EXPECT_TRUE(plan_problems(p, llama7b(), 8).empty());
}

// ds.activation_checkpointing "every-N" recomputes blocks 0, N, 2N, ...
TEST(PlanFromConfig, EveryNCheckpointing) {
  configs::Config c = example("zero2_bf16.json");
  c.ds.activation_checkpointing = {configs::CheckpointPolicy::Kind::kEveryN, 3};
  Plan p = plan_from_config(c, llama7b(), 8);
  EXPECT_EQ(p.checkpointing, Checkpointing::kFull);
  EXPECT_EQ(p.checkpoint_every, 3);
  c.ds.activation_checkpointing = {configs::CheckpointPolicy::Kind::kFull, 0};
  EXPECT_EQ(plan_from_config(c, llama7b(), 8).checkpoint_every, 1);
}

TEST(PlanFromConfig, Zero3NvmeInfinity) {
  Plan p = plan_from_config(example("zero3_nvme_infinity.json"), llama7b(), 8);
  EXPECT_EQ(p.zero_stage, 3);
  EXPECT_EQ(p.offload_optimizer, OffloadDevice::kNvme);
  EXPECT_EQ(p.offload_param, OffloadDevice::kNvme);
  EXPECT_EQ(p.dtype, DType::kFp16);
  EXPECT_EQ(p.optimizer, OptimizerKind::kAdam);
  EXPECT_EQ(p.reduce_bucket_size, 100'000'000);
  EXPECT_EQ(p.stage3_prefetch_bucket_size, 50'000'000);
  EXPECT_EQ(p.sub_group_size, 1'000'000'000);
  EXPECT_EQ(p.nvme_optimizer_buffers, 4);
  configs::Config c = example("zero3_nvme_infinity.json");
  c.zero_optimization.sub_group_size = 12345;
  c.zero_optimization.offload_optimizer.buffer_count = 6;
  p = plan_from_config(c, llama7b(), 8);
  EXPECT_EQ(p.sub_group_size, 12345);
  EXPECT_EQ(p.nvme_optimizer_buffers, 6);
  EXPECT_DOUBLE_EQ(p.offload_optimizer_ratio, 1.0);
  EXPECT_FALSE(p.partial_offload());
  c.zero_optimization.offload_optimizer.ratio = 0.3;
  p = plan_from_config(c, llama7b(), 8);
  EXPECT_DOUBLE_EQ(p.offload_optimizer_ratio, 0.3);
  EXPECT_TRUE(p.partial_offload());
}

// The HF Trainer's "auto" values resolved from the model (hidden 4096) as transformers does:
// reduce_bucket_size = h^2, stage3_prefetch_bucket_size = 0.9 h^2, persistence threshold = 10 h;
// the batch from TrainingArguments' defaults (per-device batch 8, accumulation 1).
TEST(PlanFromConfig, HfTrainerAutoIsResolvedFromTheModel) {
  Plan p = plan_from_config(example("hf_trainer_auto.json"), llama7b(), 8);
  EXPECT_EQ(p.zero_stage, 3);
  EXPECT_EQ(p.offload_optimizer, OffloadDevice::kCpu);
  EXPECT_EQ(p.offload_param, OffloadDevice::kCpu);
  EXPECT_EQ(p.reduce_bucket_size, 4096LL * 4096);
  EXPECT_EQ(p.stage3_prefetch_bucket_size, 15'099'494);
  EXPECT_EQ(p.stage3_param_persistence_threshold, 40960);
  EXPECT_EQ(p.micro_batch, 8);
  EXPECT_EQ(p.grad_accum, 1);
}

TEST(PlanFromConfig, TomlReadsTheSame) {
  Plan json = plan_from_config(example("zero3_bf16.json"), llama7b(), 8);
  Plan toml = plan_from_config(example("zero3_bf16.toml"), llama7b(), 8);
  EXPECT_EQ(json.zero_stage, toml.zero_stage);
  EXPECT_EQ(json.micro_batch, toml.micro_batch);
  EXPECT_EQ(json.reduce_bucket_size, toml.reduce_bucket_size);
  EXPECT_EQ(json.dtype, toml.dtype);
}

}  // namespace
}  // namespace ds::estimators
