#include "autotune/tuner.hpp"

#include <gtest/gtest.h>

#include "autotune/tune_options.hpp"
#include "common/error.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::Objective;
using ds::autotune::TuneResult;
using ds::estimators::Checkpointing;
using ds::estimators::OffloadDevice;

TEST(Tuner, EverythingFitsOnABigDevice) {
  auto cluster = ds::test::round_cluster(2);
  auto r = ds::autotune::tune(ds::test::gpt2(), cluster, ds::test::small_tune_options());
  EXPECT_EQ(r.candidates + r.skipped.total(), r.raw_combinations);
  EXPECT_EQ(r.pruned_total(), 0);
  EXPECT_EQ(r.feasible, r.candidates);
  ASSERT_EQ(r.top.size(), 5u);
  for (std::size_t i = 1; i < r.top.size(); ++i) {
    EXPECT_GE(r.top[i - 1].cost.tokens_per_s, r.top[i].cost.tokens_per_s);
  }
}

TEST(Tuner, PrunesWhatTheMemoryEstimatorSaysDoesNotFit) {
  // 3 GiB per device: GPT-2 with Adam (16 B/param = 2 GB of states) fits only partitioned or
  // offloaded, and only small micro-batches (activations at seq 1024 are ~0.7 GB per sequence
  // without checkpointing).
  auto cluster = ds::test::round_cluster(2);
  cluster.device_memory_bytes = 3.0 * 1024 * 1024 * 1024;
  auto r = ds::autotune::tune(ds::test::gpt2(), cluster, ds::test::small_tune_options());
  EXPECT_GT(r.pruned.at("device memory"), 0);
  EXPECT_EQ(r.feasible + r.pruned_total(), r.candidates);
  for (const auto& rp : r.top) EXPECT_LE(rp.device_peak_bytes, cluster.device_memory_bytes);
}

TEST(Tuner, PlansNeedingAnUnknownRateArePrunedWithTheRate) {
  auto cluster = ds::test::round_cluster(1);
  cluster.rates.disk_read_bytes_per_s = 0;
  auto o = ds::test::small_tune_options();
  o.space.stages = {3};
  auto r = ds::autotune::tune(ds::test::gpt2(), cluster, o);
  // Optimizer on NVMe (3 param offloads) or parameters on NVMe (cpu and none optimizer offload):
  // 5 of 9 offload combinations x 3 micro-batches x 3 checkpointing = 45.
  EXPECT_EQ(r.pruned.at("no disk_read_bytes_per_s"), 45);
  for (const auto& rp : r.top) {
    EXPECT_NE(rp.plan.offload_optimizer, OffloadDevice::kNvme);
    EXPECT_NE(rp.plan.offload_param, OffloadDevice::kNvme);
  }
}

TEST(Tuner, NothingFitsNamesTheReasons) {
  auto cluster = ds::test::round_cluster(1);
  cluster.device_memory_bytes = 1e8;
  cluster.cpu_memory_per_node_bytes = 1e8;
  auto o = ds::test::small_tune_options();
  o.space.stages = {0};
  o.space.checkpointing = {Checkpointing::kNone};
  try {
    ds::autotune::tune(ds::test::gpt2(), cluster, o);
    FAIL() << "no error";
  } catch (const ds::UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "ds tune: no plan fits (got 3 candidates pruned (3 device memory)); expected at least one plan within "
                 "the cluster's memory; hint: add GPUs, allow offload (--offload-optimizer cpu), smaller --micro-batch "
                 "or --seq");
  }
}

TEST(Tuner, MemoryObjectiveRanksTheSmallestFirst) {
  auto o = ds::test::small_tune_options();
  o.objective = Objective::kMemory;
  auto r = ds::autotune::tune(ds::test::gpt2(), ds::test::round_cluster(2), o);
  for (std::size_t i = 1; i < r.top.size(); ++i) EXPECT_LE(r.top[i - 1].device_peak_bytes, r.top[i].device_peak_bytes);
  // The least memory: the model split by tp 2, optimizer offloaded, full checkpointing, micro-batch 1.
  EXPECT_EQ(r.top.front().plan.tp, 2);
  EXPECT_NE(r.top.front().plan.offload_optimizer, OffloadDevice::kNone);
  EXPECT_EQ(r.top.front().plan.micro_batch, 1);
  EXPECT_EQ(r.top.front().plan.checkpointing, Checkpointing::kFull);
}

}  // namespace

namespace {

// The tuner shares memory estimates between plans that differ only in grad_accum beyond
// memory_grad_accum(); this holds only while the estimator reads grad_accum no other way.
TEST(Tuner, MemoryEstimateDependsOnAccumulationOnlyThroughThePipeline) {
  auto model = ds::test::gpt2();
  auto cluster = ds::test::round_cluster(4);
  auto count = ds::estimators::count_params(model);
  for (int pp : {1, 2, 4}) {
    for (int stage : {0, 1}) {
      auto p = ds::test::base_plan();
      p.pp = pp;
      p.dp = 4 / pp;
      p.zero_stage = stage;
      for (std::int64_t ga : {1, 2, 3, 8}) {
        p.grad_accum = ga;
        auto direct = ds::estimators::estimate_memory(model, count, cluster, p);
        auto shared = p;
        shared.grad_accum = ds::autotune::memory_grad_accum(p);
        auto memo = ds::estimators::estimate_memory(model, count, cluster, shared);
        EXPECT_EQ(direct.device_peak_bytes, memo.device_peak_bytes) << "pp " << pp << " ga " << ga;
        EXPECT_EQ(direct.cpu_peak_bytes_per_node, memo.cpu_peak_bytes_per_node);
      }
    }
  }
}

}  // namespace
