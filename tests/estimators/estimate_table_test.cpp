#include "estimators/estimate_table.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "estimators/presets.hpp"
#include "profiles/hardware_presets.hpp"

namespace ds::estimators {
namespace {

const ModelSpec& preset(const char* name) { return find_model_preset(name)->spec; }

// (stage, offload_optimizer, offload_param) of each plan, e.g. "3 cpu/none".
std::vector<std::string> combos(const std::vector<Plan>& plans) {
  std::vector<std::string> out;
  for (const auto& p : plans) {
    out.push_back(std::to_string(p.zero_stage) + " " + std::string(offload_name(p.offload_optimizer)) + "/" +
                  std::string(offload_name(p.offload_param)));
  }
  return out;
}

// The header's order: 0; 1; 1+cpu; 2; 2+cpu; 3; 3+cpu; 3+cpu/cpu; 3+nvme; 3+nvme/nvme. The base
// plan's own stage and offload are replaced; everything else is kept.
TEST(EstimateTable, PlansInTheDocumentedOrder) {
  Plan base;
  base.zero_stage = 3;
  base.offload_optimizer = base.offload_param = OffloadDevice::kCpu;
  base.micro_batch = 7;
  base.dp = 4;
  auto gpu = table_plans(base, profiles::DeviceKind::kGpu);
  EXPECT_EQ(combos(gpu), (std::vector<std::string>{"0 none/none", "1 none/none", "1 cpu/none", "2 none/none",
                                                    "2 cpu/none", "3 none/none", "3 cpu/none", "3 cpu/cpu",
                                                    "3 nvme/none", "3 nvme/nvme"}));
  for (const auto& p : gpu) {
    EXPECT_EQ(p.micro_batch, 7);
    EXPECT_EQ(p.dp, 4);
  }
  // On a CPU cluster offloading to the CPU moves nothing: those four rows are left out.
  EXPECT_EQ(combos(table_plans(base, profiles::DeviceKind::kCpu)),
            (std::vector<std::string>{"0 none/none", "1 none/none", "2 none/none", "3 none/none", "3 nvme/none",
                                      "3 nvme/nvme"}));
}

// Each estimated row is what estimate_memory, check_fit and largest_micro_batch give for its plan;
// a row with problems carries no estimate.
TEST(EstimateTable, RowsAreTheEstimatesOfTheirPlans) {
  auto gpu = profiles::hardware_preset("a100-40g");
  gpu.gpus_per_node = 2;
  Plan base;
  base.dp = 2;
  base.seq_len = 1024;
  const ModelSpec& m = preset("gpt2");
  ParamCount count = count_params(m);
  for (const auto& row : estimate_table(m, gpu, base)) {
    SCOPED_TRACE(row.plan.zero_stage);
    ASSERT_TRUE(row.problems.empty());
    MemoryEstimate want = estimate_memory(m, count, gpu, row.plan);
    EXPECT_DOUBLE_EQ(row.estimate.device_peak_bytes, want.device_peak_bytes);
    EXPECT_DOUBLE_EQ(row.estimate.cpu_peak_bytes_per_node, want.cpu_peak_bytes_per_node);
    EXPECT_EQ(row.fit.fits, check_fit(want, gpu).fits);
    EXPECT_EQ(row.largest_micro_batch, largest_micro_batch(m, count, gpu, row.plan));
    EXPECT_GT(row.largest_micro_batch, 0);
  }
  base.pp = 2;  // stages 2 and 3 cannot pipeline: those rows are marked, not estimated
  base.dp = 1;
  auto rows = estimate_table(m, gpu, base);
  EXPECT_FALSE(rows[5].problems.empty());
  EXPECT_DOUBLE_EQ(rows[5].estimate.device_peak_bytes, 0);
  EXPECT_EQ(rows[5].largest_micro_batch, 0);
}

TEST(EstimateTable, RowsPerDeviceKind) {
  auto gpu = profiles::hardware_preset("h100-80g");
  Plan base;
  base.dp = 8;
  auto rows = estimate_table(preset("llama-2-7b"), gpu, base);
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows[9].plan.offload_param, OffloadDevice::kNvme);
  for (const auto& r : rows) EXPECT_TRUE(r.problems.empty());
  // More partitioning never needs more device memory here.
  EXPECT_GT(rows[0].estimate.device_peak_bytes, rows[3].estimate.device_peak_bytes);
  EXPECT_GT(rows[3].estimate.device_peak_bytes, rows[5].estimate.device_peak_bytes);
  auto cpu = profiles::hardware_preset("cpu-only");
  base.dp = 1;
  EXPECT_EQ(estimate_table(preset("ds-tiny"), cpu, base).size(), 6u);
}

TEST(EstimateTable, StageConflictsMarkRowsOtherProblemsThrow) {
  auto gpu = profiles::hardware_preset("h100-80g");
  Plan base;
  base.dp = 4;
  base.pp = 2;
  auto rows = estimate_table(preset("llama-2-7b"), gpu, base);
  EXPECT_TRUE(rows[1].problems.empty());  // stage 1 works with pp
  ASSERT_EQ(rows[3].problems.size(), 1u);
  EXPECT_EQ(rows[3].problems[0], "ZeRO stage 2 cannot be combined with pipeline parallelism (pp=2); DeepSpeed's "
                                 "pipeline engine supports stages 0 and 1");
  base.pp = 1;
  base.tp = 3;
  base.dp = 1;
  try {
    estimate_table(preset("llama-2-7b"), gpu, base);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "plan: tp=3 does not divide num_attention_heads=32; tp=3 does not divide "
                           "num_key_value_heads=32; tp=3 does not divide intermediate_size=11008; dp*tp*pp*sp = "
                           "1*3*1*1 = 3 does not equal the 8 ranks of the cluster");
  }
}

}  // namespace
}  // namespace ds::estimators
