#include "autotune/config_emitter.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "autotune/search_space.hpp"
#include "configs/config_io.hpp"
#include "configs/validation.hpp"
#include "estimators/estimate_json.hpp"
#include "estimators/plan_from_config.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::config_from_plan;
using ds::autotune::EmitOptions;
using ds::estimators::Plan;

EmitOptions emit_options() {
  EmitOptions o;
  o.model = "gpt2";
  o.nvme_path = "/local_nvme";
  o.steps = 20;
  return o;
}

TEST(ConfigEmitter, StandardKeysForOneZero2OffloadPlan) {
  Plan p = ds::test::base_plan();
  p.zero_stage = 2;
  p.offload_optimizer = ds::estimators::OffloadDevice::kCpu;
  p.dp = 4;
  p.micro_batch = 2;
  p.grad_accum = 8;
  p.reduce_bucket_size = p.allgather_bucket_size = 200'000'000;
  p.overlap_comm = true;
  p.checkpointing = ds::estimators::Checkpointing::kFull;
  auto j = nlohmann::json::parse(ds::configs::to_json(config_from_plan(p, ds::test::round_cluster(4), emit_options())));
  EXPECT_EQ(j["train_batch_size"], 64);  // 2 x 8 x 4
  EXPECT_EQ(j["train_micro_batch_size_per_gpu"], 2);
  EXPECT_EQ(j["gradient_accumulation_steps"], 8);
  EXPECT_EQ(j["bf16"]["enabled"], true);
  EXPECT_EQ(j["zero_optimization"]["stage"], 2);
  EXPECT_EQ(j["zero_optimization"]["offload_optimizer"]["device"], "cpu");
  EXPECT_EQ(j["zero_optimization"]["reduce_bucket_size"], 200'000'000);
  EXPECT_EQ(j["zero_optimization"]["overlap_comm"], true);
  EXPECT_EQ(j["optimizer"]["type"], "AdamW");
  EXPECT_EQ(j["ds"]["activation_checkpointing"], "full");
  EXPECT_EQ(j["ds"]["model"], "gpt2");
  EXPECT_EQ(j["ds"]["nproc"], 4);
  EXPECT_EQ(j["ds"]["steps"], 20);
  // Only DeepSpeed's own top-level keys outside "ds".
  for (const auto& [key, value] : j.items()) {
    static const std::set<std::string> allowed = {"train_batch_size", "train_micro_batch_size_per_gpu",
                                                  "gradient_accumulation_steps", "bf16", "fp16", "optimizer",
                                                  "zero_optimization", "pipeline", "tensor_parallel", "ds"};
    EXPECT_TRUE(allowed.count(key)) << key;
  }
}

TEST(ConfigEmitter, EveryPlanOfASpacePassesCheckAndRoundTrips) {
  // Every plan of a small space: the JSON is read back by the config reader (which validates,
  // as `ds config check` does) and describes the same plan again.
  auto model = ds::test::gpt2();
  auto cluster = ds::test::round_cluster(4);
  ds::autotune::SearchSpaceOptions o;
  o.micro_batches = {1, 4};
  o.bucket_sizes = {50'000'000, 500'000'000};
  o.dtypes = {ds::estimators::DType::kBf16, ds::estimators::DType::kFp16, ds::estimators::DType::kFp32};
  o.seq_len = 1024;
  o.global_batch = 16;
  o.max_sp = 0;  // Ulysses layouts too: sequence_parallel_size reads back as sp
  int n = 0;
  int with_sp = 0;
  ds::autotune::SearchSpace(model, cluster, o).for_each([&](const Plan& p) {
    auto text = ds::configs::to_json(config_from_plan(p, cluster, emit_options()));
    auto config = ds::configs::parse_config_json(text, "tuned.json");
    Plan back = ds::estimators::plan_from_config(config, model, 4, "tuned.json");
    back.fused_attention = p.fused_attention;  // not a config key: the engine decides
    ASSERT_EQ(ds::estimators::plan_json(back), ds::estimators::plan_json(p)) << text;
    if (p.sp > 1) {
      ++with_sp;
      EXPECT_NE(text.find("\"sequence_parallel_size\": " + std::to_string(p.sp)), std::string::npos) << text;
    }
    ++n;
  });
  EXPECT_GT(n, 500);
  EXPECT_GT(with_sp, 100);
}

TEST(ConfigEmitter, NvmeOffloadCarriesItsPath) {
  Plan p = ds::test::base_plan();
  p.zero_stage = 3;
  p.offload_optimizer = ds::estimators::OffloadDevice::kNvme;
  p.offload_param = ds::estimators::OffloadDevice::kNvme;
  auto c = config_from_plan(p, ds::test::round_cluster(1), emit_options());
  EXPECT_EQ(c.zero_optimization.offload_optimizer.nvme_path, "/local_nvme");
  EXPECT_EQ(c.zero_optimization.offload_param.nvme_path, "/local_nvme");
  EXPECT_NO_THROW(ds::configs::validate(c, "tuned"));
}

TEST(ConfigEmitter, LaunchLine) {
  auto cluster = ds::test::round_cluster(8);
  EXPECT_EQ(ds::autotune::launch_line(cluster, "ds_config.json"), "ds train --nproc 8 --config ds_config.json");
  cluster.nodes = 4;
  EXPECT_EQ(ds::autotune::launch_line(cluster, "c.json"), "ds train --nproc 8 --hostfile hostfile --config c.json");
  EXPECT_EQ(ds::autotune::launch_line(cluster, "c.json", /*config_has_data=*/false),
            "ds train --nproc 8 --hostfile hostfile --config c.json --data data/train.bin");
}

}  // namespace
