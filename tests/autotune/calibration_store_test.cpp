#include "autotune/calibration_store.hpp"

#include <gtest/gtest.h>

#include "estimators/estimate_json.hpp"
#include "estimators/memory_estimate.hpp"
#include "profiles/store.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::CostCoefficients;
using ds::autotune::CostTerm;

// Trials of GPT-2 on a 2-rank CPU "cluster" whose measured steps are what the cost model says
// with compute 1.5x and optimizer 3x slower: the fit from the stored rows finds those factors.
std::vector<ds::profiles::Trial> trials(const ds::profiles::ClusterSpec& cluster) {
  ds::autotune::CostModelOptions truth;
  truth.coefficients[CostTerm::kCompute] = 1.5;
  truth.coefficients[CostTerm::kOptimizer] = 3.0;
  ds::autotune::CostModel cost(ds::test::gpt2(), cluster, truth);
  std::vector<ds::profiles::Trial> out;
  int id = 0;
  for (int stage : {0, 1, 2}) {
    for (std::int64_t mb : {1, 2, 4}) {
      for (std::int64_t ga : {1, 4}) {
        auto p = ds::test::base_plan();
        // Two sequence lengths, or compute and attention always come in one proportion and
        // no fit can tell them apart.
        p.seq_len = ga == 1 ? 256 : 1024;
        p.dp = 2;
        p.zero_stage = stage;
        p.micro_batch = mb;
        p.grad_accum = ga;
        ds::profiles::Trial t;
        t.id = ++id;
        t.source = "tune";
        t.status = "ok";
        t.model = "gpt2";
        t.plan_json = ds::estimators::plan_json(p);
        t.device = "cpu";
        t.world_size = 2;
        t.measured_step_time_s = cost.estimate(p).step_time_s;
        out.push_back(t);
      }
    }
  }
  out.front().status = "oom";  // not used
  return out;
}

TEST(CalibrationStore, PlanJsonRoundTrips) {
  auto p = ds::test::base_plan();
  p.zero_stage = 3;
  p.offload_param = ds::estimators::OffloadDevice::kNvme;
  p.offload_optimizer = ds::estimators::OffloadDevice::kCpu;
  p.checkpointing = ds::estimators::Checkpointing::kSelective;
  p.tp = 2;
  p.reduce_bucket_size = 123;
  p.overlap_comm = false;
  auto j = ds::estimators::plan_json(p);
  EXPECT_EQ(ds::estimators::plan_json(ds::autotune::plan_from_json(j, "plan")), j);
  EXPECT_THROW(ds::autotune::plan_from_json(nlohmann::json::array(), "plan"), ds::UsageError);
  j["dtype"] = "fp8";
  EXPECT_THROW(ds::autotune::plan_from_json(j, "plan"), ds::UsageError);
}

TEST(CalibrationStore, FitsStoredTrialsAndReadsTheCoefficientsBack) {
  auto cluster = ds::test::round_cluster(2);
  cluster.device = ds::profiles::DeviceKind::kCpu;
  std::vector<ds::autotune::SkippedTrial> skipped;
  auto samples = ds::autotune::samples_from_trials(trials(cluster), cluster, {}, &skipped);
  ASSERT_EQ(samples.size(), 17u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].reason, "status oom");
  auto fit = ds::autotune::calibrate(samples, CostCoefficients{});
  EXPECT_NEAR(fit.coefficients[CostTerm::kCompute], 1.5, 0.01);
  EXPECT_NEAR(fit.coefficients[CostTerm::kOptimizer], 3.0, 0.1);  // a few ms of each step: the ridge shows
  EXPECT_LT(fit.mape_after, 0.005);
  EXPECT_GT(fit.mape_before, 0.2);

  ds::profiles::Store store(":memory:");
  EXPECT_FALSE(ds::autotune::latest_calibration(store, "fp", "round"));
  ds::autotune::save_calibration(store, "fp", "round", fit);
  const auto id = ds::autotune::save_calibration(store, "fp", "round", fit);
  auto back = ds::autotune::latest_calibration(store, "fp", "round");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, id);
  EXPECT_EQ(back->calibration.coefficients.scale, fit.coefficients.scale);
  EXPECT_EQ(back->calibration.trials, 17);
  EXPECT_EQ(back->calibration.trial_ids, fit.trial_ids);
  EXPECT_DOUBLE_EQ(back->calibration.mape_after, fit.mape_after);
  EXPECT_FALSE(ds::autotune::latest_calibration(store, "fp", "h100-80g"));  // other cluster source
  EXPECT_FALSE(ds::autotune::latest_calibration(store, "other", "round"));  // other machine
}

TEST(CalibrationStore, TrialsArePricedAsDsTrainRanThem) {
  // A ZeRO-3 run on 2 ranks recomputed every block whatever its config asked: its sample prices
  // the recompute, as the same plan with checkpointing full.
  auto cluster = ds::test::round_cluster(2);
  cluster.device = ds::profiles::DeviceKind::kCpu;
  auto p = ds::test::base_plan();
  p.dp = 2;
  p.zero_stage = 3;
  p.checkpointing = ds::estimators::Checkpointing::kNone;
  ds::profiles::Trial t;
  t.id = 1;
  t.status = "ok";
  t.model = "gpt2";
  t.plan_json = ds::estimators::plan_json(p);
  t.device = "cpu";
  t.world_size = 2;
  t.measured_step_time_s = 1.0;
  auto samples = ds::autotune::samples_from_trials({t}, cluster, {}, nullptr);
  ASSERT_EQ(samples.size(), 1u);
  p.checkpointing = ds::estimators::Checkpointing::kFull;
  auto full = ds::autotune::CostModel(ds::test::gpt2(), cluster, {}).estimate(p).raw_s;
  EXPECT_GT(full[static_cast<int>(CostTerm::kRecompute)], 0);
  EXPECT_EQ(samples[0].raw_s, full);
}

TEST(CalibrationStore, OutOfMemoryTrialsScaleTheDevicePeaks) {
  auto cluster = ds::test::round_cluster(2);
  cluster.device_memory_bytes = 16.0 * 1024 * 1024 * 1024;  // GPT-2 at micro-batch 4 needs ~6.4 GiB
  auto model = ds::test::gpt2();
  auto p = ds::test::base_plan();
  p.dp = 2;
  p.micro_batch = 4;
  const auto count = ds::estimators::count_params(model);
  auto est = ds::estimators::estimate_memory(model, count, cluster, p);
  ASSERT_TRUE(ds::estimators::check_fit(est, cluster).fits);
  const auto trial = [&](std::int64_t id, const char* status, const char* device) {
    ds::profiles::Trial t;
    t.id = id;
    t.status = status;
    t.model = "gpt2";
    t.plan_json = ds::estimators::plan_json(p);
    t.device = device;
    t.world_size = 2;
    return t;
  };
  // Finished runs, failures other than memory and runs on another kind of device say nothing.
  EXPECT_EQ(ds::autotune::memory_correction({trial(1, "ok", "cuda:0"), trial(2, "failed", "cuda"),
                                             trial(3, "oom", "cpu")},
                                            cluster)
                .scale,
            1.0);
  // The estimator let trial 4 through and it ran out of 16 GiB: peaks scale by 1% beyond 16 GiB
  // over its prediction, so that plan no longer fits.
  auto correction = ds::autotune::memory_correction({trial(1, "ok", "cuda:0"), trial(4, "oom", "cuda")}, cluster);
  EXPECT_EQ(correction.trial_id, 4);
  EXPECT_NEAR(correction.scale, 1.01 * cluster.device_memory_bytes / est.device_peak_bytes, 1e-9);
  EXPECT_NE(correction.note.find("trial 4 ran out of memory"), std::string::npos) << correction.note;
  est.device_peak_bytes *= correction.scale;
  EXPECT_FALSE(ds::estimators::check_fit(est, cluster).fits);
  // Bounded: a run that failed far below its prediction does not prune everything.
  EXPECT_DOUBLE_EQ(ds::autotune::memory_correction({trial(4, "oom", "cuda")}, cluster, 1.5).scale, 1.5);
}

TEST(CalibrationStore, TrialsOnAnotherDeviceKindAreNotUsed) {
  auto cluster = ds::test::round_cluster(2);  // a GPU cluster
  std::vector<ds::autotune::SkippedTrial> skipped;
  auto cpu_cluster = cluster;
  cpu_cluster.device = ds::profiles::DeviceKind::kCpu;
  EXPECT_TRUE(ds::autotune::samples_from_trials(trials(cpu_cluster), cluster, {}, &skipped).empty());
  EXPECT_EQ(skipped.back().reason, "ran on cpu");
}

}  // namespace
