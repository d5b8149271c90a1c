// End-to-end: runs the built `ds estimate ...` (DS_BINARY) and checks exit codes, text and JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/run_ds.hpp"

namespace {

using ds::test::DsRun;
using ds::test::run_ds;

const std::string kData = std::string(DS_SOURCE_DIR) + "/tests/estimators/data/";

TEST(EstimateCli, ParamsJsonGivesTheExactCount) {
  DsRun r = run_ds("--json estimate params --model gpt2");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["total"], 124439808);
  EXPECT_EQ(j["largest_module"], 38597376);
  EXPECT_EQ(j["groups"]["positional"], 786432);
  EXPECT_EQ(j["modules"][0]["name"], "transformer.wte");
  EXPECT_EQ(j["model"]["family"], "gpt2");
}

TEST(EstimateCli, ParamsTextFromAConfigDirectory) {
  DsRun r = run_ds("estimate params --model " + kData + "hf/mixtral-8x7b");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("46,702,792,704 params"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.layers.*.block_sparse_moe.experts.*.w1"), std::string::npos);
  EXPECT_NE(r.out.find("active per token 12,879,925,248"), std::string::npos);
}

TEST(EstimateCli, RoughModelFromACount) {
  DsRun r = run_ds("--json estimate params --params 6738415616 --layers 32 --hidden 4096");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["total"], 6738415616);
}

TEST(EstimateCli, MemoryTableJson) {
  DsRun r = run_ds("--json estimate memory --model llama-2-7b --gpu a100-80g --seq 4096");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 10u);
  EXPECT_EQ(j["cluster"]["gpus_per_node"], 8);
  EXPECT_EQ(j["plan"]["dp"], 8);
  const auto& stage2 = j["rows"][3];
  EXPECT_EQ(stage2["zero_stage"], 2);
  EXPECT_EQ(stage2["offload_optimizer"], "none");
  // docs/estimator.md's worked example (tests/estimators/memory_estimate_test.cpp by hand).
  EXPECT_NEAR(stage2["device_bytes"].get<double>(), 56389270707.2, 1);
  EXPECT_TRUE(stage2["fits"].get<bool>());
  EXPECT_GT(stage2["largest_micro_batch"].get<int>(), 1);
  EXPECT_FALSE(j["rows"][0]["fits"].get<bool>());  // stage 0: 16 bytes x 6.7B does not fit 80 GB
}

TEST(EstimateCli, MemoryTableText) {
  DsRun r = run_ds("estimate memory --model llama-2-7b --gpu a100-80g --seq 4096");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("per device GiB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("52.52"), std::string::npos) << r.out;  // the stage-2 row, 2 decimals
  EXPECT_NE(r.out.find("[preset a100-80g]"), std::string::npos);
}

TEST(EstimateCli, OnePlanBreakdown) {
  DsRun r = run_ds("estimate memory --model llama-2-7b --gpu a100-80g --seq 4096 --stage 2");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* word : {"params", "master_params", "optimizer_step_temp", "optimizer_states", "activations",
                           "logits_and_loss", "comm_buckets", "runtime", "fragmentation", "peak", "fits: yes"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
  }
  DsRun j = run_ds("--json estimate memory --model llama-2-7b --gpu a100-80g --seq 4096 --stage 2");
  ASSERT_EQ(j.code, 0) << j.err;
  auto e = nlohmann::json::parse(j.out)["estimate"];
  EXPECT_DOUBLE_EQ(e["by_category"]["device"]["params"].get<double>(), 13476831232.0);
}

TEST(EstimateCli, CpuOnlyRun) {
  DsRun r = run_ds("--json estimate memory --model ds-tiny --gpu cpu-only --dtype fp32 --plan");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["cluster"]["device"], "cpu");
  EXPECT_EQ(j["plan"]["seq_len"], 128);  // the model's maximum
  EXPECT_FALSE(j["plan"]["fused_attention"].get<bool>());  // no fused attention on the CPU
  EXPECT_EQ(j["estimate"]["by_category"]["device"]["runtime"], 256.0 * 1024 * 1024);
}

TEST(EstimateCli, PlanFromADeepSpeedConfig) {
  DsRun r = run_ds("--json estimate memory --model llama-2-7b --gpu a100-80g --config " + std::string(DS_SOURCE_DIR) +
                   "/configs/examples/zero2_bf16.json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["plan"]["zero_stage"], 2);
  EXPECT_EQ(j["plan"]["micro_batch"], 4);
  EXPECT_EQ(j["plan"]["grad_accum"], 8);
  EXPECT_EQ(j["plan"]["reduce_bucket_size"], 200000000);
  EXPECT_TRUE(j["plan"]["fp32_grad_accumulation"].get<bool>());
  EXPECT_GT(j["estimate"]["device_peak_bytes"].get<double>(), 0);
  r = run_ds("estimate memory --model llama-2-7b --config no_such_config.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no_such_config.json"), std::string::npos) << r.err;
}

TEST(EstimateCli, DeepSpeedFormula) {
  DsRun r = run_ds("--json estimate memory --model llama-2-7b --deepspeed-formula --gpus-per-node 8");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 8u);
  EXPECT_EQ(j["rows"][1]["gpu_bytes"], 40430493696);
  EXPECT_EQ(j["rows"][2]["cpu_bytes"], 181937221632);
  DsRun text = run_ds("estimate memory --model llama-2-7b --deepspeed-formula");
  EXPECT_NE(text.out.find("offload_param=cpu, offload_optimizer=cpu, zero_init=1"), std::string::npos) << text.out;
}

TEST(EstimateCli, Presets) {
  DsRun r = run_ds("estimate presets");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"llama-3.1-405b", "ds-tiny", "h100-80g", "cpu-only"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }
}

// --engine ds prices ds's own ZeRO buffers (an fp32 gradient partition); DeepSpeed's has none.
TEST(EstimateCli, EngineDsPricesItsOwnZeroBuffers) {
  const std::string plan = "--json estimate memory --model ds-tiny --gpu cpu-only --gpus-per-node 2 --stage 2 --plan";
  DsRun ds = run_ds(plan + " --engine ds");
  ASSERT_EQ(ds.code, 0) << ds.err;
  auto j = nlohmann::json::parse(ds.out);
  EXPECT_EQ(j["plan"]["engine"], "ds");
  EXPECT_GT(j["estimate"]["by_category"]["device"].value("grad_accum_fp32", 0.0), 0);
  DsRun deepspeed = run_ds(plan);
  ASSERT_EQ(deepspeed.code, 0) << deepspeed.err;
  j = nlohmann::json::parse(deepspeed.out);
  EXPECT_EQ(j["plan"]["engine"], "deepspeed");
  EXPECT_EQ(j["estimate"]["by_category"]["device"].value("grad_accum_fp32", 0.0), 0);
  // ds's ZeRO-3 across ranks recomputes every block, whatever --checkpointing says.
  DsRun zero3 = run_ds("--json estimate memory --model ds-tiny --gpu cpu-only --gpus-per-node 2 --stage 3 "
                       "--checkpointing none --engine ds");
  ASSERT_EQ(zero3.code, 0) << zero3.err;
  EXPECT_EQ(nlohmann::json::parse(zero3.out)["plan"]["checkpointing"], "full");
  DsRun bad = run_ds("estimate memory --model ds-tiny --engine torch");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--engine"), std::string::npos) << bad.err;
}

// --offload-ratio: DeepSpeed's partial offload keeps the first sub-groups' master, states and
// fp32 gradients on the device (llama-2-7b on 8 GPUs: 842 M parameters a rank, 9 sub-groups of
// 1e8, int(0.5 x 9) = 4 kept).
TEST(EstimateCli, PartialOffloadKeepsSubGroupsOnTheDevice) {
  const std::string plan = "--json estimate memory --model llama-2-7b --gpu a100-80g --gpus-per-node 8 --stage 3 --plan "
                           "--offload-optimizer cpu --sub-group-size 1e8";
  DsRun whole = run_ds(plan);
  DsRun partial = run_ds(plan + " --offload-ratio 0.5");
  ASSERT_EQ(whole.code, 0) << whole.err;
  ASSERT_EQ(partial.code, 0) << partial.err;
  auto w = nlohmann::json::parse(whole.out), p = nlohmann::json::parse(partial.out);
  EXPECT_EQ(p["plan"]["offload_optimizer_ratio"], 0.5);
  EXPECT_EQ(p["plan"]["sub_group_size"], 100000000);
  EXPECT_EQ(w["estimate"]["by_category"]["device"].value("optimizer_states", 0.0), 0);
  EXPECT_DOUBLE_EQ(p["estimate"]["by_category"]["device"]["optimizer_states"].get<double>(), 8.0 * 4e8);
  EXPECT_LT(p["estimate"]["by_category"]["cpu"]["optimizer_states"].get<double>(),
            w["estimate"]["by_category"]["cpu"]["optimizer_states"].get<double>());
  DsRun bad = run_ds("estimate memory --model llama-2-7b --gpu a100-80g --stage 2 --plan --offload-optimizer cpu --offload-ratio 0.5");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("needs ZeRO stage 3"), std::string::npos) << bad.err;
}

TEST(EstimateCli, BadInputExitsTwoWithTheReason) {
  DsRun r = run_ds("estimate memory --model llama-2-7");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "ds: error: --model: unknown model preset (got 'llama-2-7'); expected a preset name, a config.json file or "
            "a directory holding one; hint: nearest presets: llama-2-7b, llama-2-70b, llama-2-13b; `ds estimate presets` "
            "lists them all\n");
  r = run_ds("estimate params --model " + kData + "bad/falcon_config.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unsupported model_type (got 'falcon')"), std::string::npos) << r.err;
  r = run_ds("estimate memory --model llama-2-7b --stage 1 --tp 3 --dp 1 --gpus-per-node 3");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "ds: error: plan: tp=3 does not divide num_attention_heads=32; tp=3 does not divide "
                   "num_key_value_heads=32; tp=3 does not divide intermediate_size=11008\n");
  r = run_ds("estimate memory --model llama-2-7b --gpu h100");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--gpu: unknown hardware preset (got 'h100')"), std::string::npos) << r.err;
  r = run_ds("estimate memory");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "ds: error: --model: required; expected a preset name, a config.json file or a directory holding "
                   "one; hint: or --params 7e9 for a rough model; `ds estimate presets` lists the presets\n");
  r = run_ds("estimate memory --model gpt2 --gpu-mem lots");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--gpu-mem: not a size (got 'lots')"), std::string::npos) << r.err;
}

}  // namespace
