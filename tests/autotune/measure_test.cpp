#include "autotune/measure.hpp"

#include <gtest/gtest.h>

#include <set>

#include "autotune/calibration_store.hpp"
#include "profiles/store.hpp"
#include "profiles/trials.hpp"
#include "estimators/estimate_json.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::CostTerm;
using ds::autotune::MeasuredRun;

TEST(Measure, PicksTheTopAndSpreadsTheExploration) {
  EXPECT_EQ(ds::autotune::measure_picks(3, 2, 10), (std::vector<int>{1, 2, 3, 7, 10}));
  EXPECT_EQ(ds::autotune::measure_picks(2, 0, 10), (std::vector<int>{1, 2}));
  EXPECT_EQ(ds::autotune::measure_picks(5, 3, 4), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(ds::autotune::measure_picks(1, 5, 3), (std::vector<int>{1, 2, 3}));
}

// The trial `ds train` records for a finished run of `plan` on machine "fp".
std::int64_t record_train_trial(ds::profiles::Store& store, const ds::estimators::Plan& plan, double measured_s) {
  ds::profiles::Trial t;
  t.source = "train";
  t.status = "ok";
  t.model = "gpt2";
  t.plan_json = ds::estimators::plan_json(plan);
  t.device = "cuda:0";
  t.machine_fingerprint = "fp";
  t.world_size = plan.world();
  t.measured_step_time_s = measured_s;
  return ds::profiles::record_trial(store, t);
}

// A machine whose steps take what the cost model says with compute 2x: each run "measures"
// that and records a trial the way ds train does; the second run runs out of memory.
class FakeRunner : public ds::autotune::TrialRunner {
 public:
  FakeRunner(ds::profiles::Store& store, const ds::profiles::ClusterSpec& cluster) : store_(store), cluster_(cluster) {}
  MeasuredRun run(const ds::configs::Config&, const ds::estimators::Plan& plan, int index) override {
    MeasuredRun r;
    if (index == 1) {
      r.status = "oom";
      r.error = "out of memory";
      return r;
    }
    ds::autotune::CostModelOptions truth;
    truth.coefficients[CostTerm::kCompute] = 2.0;
    r.step_time_s = ds::autotune::CostModel(ds::test::gpt2(), cluster_, truth).estimate(plan).step_time_s;
    r.trial_id = record_train_trial(store_, plan, *r.step_time_s);
    ++runs;
    return r;
  }
  int runs = 0;

 private:
  ds::profiles::Store& store_;
  ds::profiles::ClusterSpec cluster_;
};

TEST(Measure, RecordsFailuresRecalibratesAndReranks) {
  ds::profiles::Store store(":memory:");
  auto model = ds::test::gpt2();
  auto cluster = ds::test::round_cluster(2);
  // 16 GiB devices: the plan that runs out of memory is within memory_correction's 4x of it.
  cluster.device_memory_bytes = 16.0 * 1024 * 1024 * 1024;
  ds::autotune::TuneOptions o;
  o.space.micro_batches = {1, 2, 4};
  o.space.bucket_sizes = {500'000'000};
  o.space.seq_len = 1024;
  o.top_k = 12;
  auto result = ds::autotune::tune(model, cluster, o);
  FakeRunner runner(store, cluster);
  ds::autotune::MeasureOptions m;
  m.top = 4;
  m.explore = 3;
  m.emit.model = "gpt2";
  m.machine_fingerprint = "fp";
  auto report = ds::autotune::measure_plans(model, cluster, o, result, runner, store, m);
  ASSERT_EQ(report.plans.size(), 7u);
  int failed = 0;
  for (const auto& p : report.plans) failed += p.run.status == "oom";
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(runner.runs, 6);
  // The OOM runs are trials too, with their plan and prediction.
  ds::profiles::TrialQuery q;
  q.source = "tune";
  auto failures = ds::profiles::list_trials(store, q);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].status, "oom");
  EXPECT_EQ(failures[0].plan_json, ds::estimators::plan_json(report.plans[1].ranked.plan));
  EXPECT_TRUE(failures[0].predicted_step_time_s);
  // Six finished trials: the fit finds compute 2x and predicts each measured step.
  ASSERT_TRUE(report.calibration);
  EXPECT_EQ(report.calibration->trials, 6);
  EXPECT_LT(report.calibration->mape_after, 0.01);
  EXPECT_GT(report.calibration->mape_before, 0.2);
  EXPECT_GT(report.calibration_id, 0);
  for (const auto& p : report.plans) {
    if (p.run.step_time_s) EXPECT_NEAR(p.predicted_after_s, *p.run.step_time_s, 0.01 * *p.run.step_time_s);
  }
  EXPECT_EQ(report.reranked.candidates, result.candidates);
  // The plan that ran out of memory is not ranked again: the estimator's device peaks were
  // scaled until it no longer fits, and with it every plan that needs as much.
  EXPECT_GT(report.memory.scale, 1.0) << report.memory.note;
  EXPECT_EQ(report.memory.trial_id, failures[0].id);
  const auto& oom_plan = report.plans[1].ranked.plan;
  for (const auto& r : report.reranked.top) {
    EXPECT_FALSE(ds::estimators::plan_json(r.plan) == ds::estimators::plan_json(oom_plan)) << "ranked again";
    EXPECT_LT(r.device_peak_bytes, report.plans[1].ranked.device_peak_bytes * report.memory.scale);
  }
  EXPECT_GT(report.reranked.pruned_total(), result.pruned_total());
  EXPECT_NE(ds::autotune::render_measure(report).find(report.memory.note), std::string::npos);
  EXPECT_NE(ds::autotune::render_measure(report).find("measured s"), std::string::npos);
}

TEST(Measure, TooFewTrialsLeaveTheModelAlone) {
  ds::profiles::Store store(":memory:");
  auto cluster = ds::test::round_cluster(2);
  ds::autotune::TuneOptions o;
  o.space.micro_batches = {1, 2};
  o.space.bucket_sizes = {500'000'000};
  o.space.seq_len = 1024;
  auto result = ds::autotune::tune(ds::test::gpt2(), cluster, o);
  FakeRunner runner(store, cluster);
  ds::autotune::MeasureOptions m;
  m.top = 2;
  m.explore = 0;
  m.machine_fingerprint = "fp";
  auto report = ds::autotune::measure_plans(ds::test::gpt2(), cluster, o, result, runner, store, m);
  EXPECT_FALSE(report.calibration);
  EXPECT_EQ(report.calibration_note, "not recalibrated: 1 finished trials on this machine, 4 needed");  // the second run failed
}

}  // namespace

namespace {

TEST(Measure, StepStatistics) {
  EXPECT_DOUBLE_EQ(ds::autotune::step_statistic({3, 1, 2, 10}, "mean"), 4.0);
  EXPECT_DOUBLE_EQ(ds::autotune::step_statistic({3, 1, 2, 10}, "median"), 2.5);
  EXPECT_DOUBLE_EQ(ds::autotune::step_statistic({3, 1, 2}, "median"), 2.0);
  EXPECT_DOUBLE_EQ(ds::autotune::step_statistic({3, 1, 2, 10}, "min"), 1.0);
  EXPECT_THROW(ds::autotune::step_statistic({1}, "p90"), ds::UsageError);
}

// With --measure-stat min, the tuner's own trial (the minimum) supersedes ds train's (the mean).
class StepTimesRunner : public ds::autotune::TrialRunner {
 public:
  explicit StepTimesRunner(ds::profiles::Store& store) : store_(store) {}
  MeasuredRun run(const ds::configs::Config&, const ds::estimators::Plan& plan, int index) override {
    MeasuredRun r;
    r.step_times_s = {0.5 + index, 0.2 + index, 0.9 + index};
    r.step_time_s = 0.5 + index + 0.1;  // the mean
    r.trial_id = record_train_trial(store_, plan, *r.step_time_s);
    return r;
  }

 private:
  ds::profiles::Store& store_;
};

TEST(Measure, MinimumSupersedesTheMeanForCalibration) {
  ds::profiles::Store store(":memory:");
  auto cluster = ds::test::round_cluster(2);
  ds::autotune::TuneOptions o;
  o.space.micro_batches = {1, 2};
  o.space.bucket_sizes = {500'000'000};
  o.space.seq_len = 1024;
  auto result = ds::autotune::tune(ds::test::gpt2(), cluster, o);
  StepTimesRunner runner(store);
  ds::autotune::MeasureOptions m;
  m.top = 2;
  m.explore = 0;
  m.machine_fingerprint = "fp";
  m.statistic = "min";
  m.emit.model = "gpt2";
  auto report = ds::autotune::measure_plans(ds::test::gpt2(), cluster, o, result, runner, store, m);
  ASSERT_EQ(report.plans.size(), 2u);
  EXPECT_DOUBLE_EQ(*report.plans[1].run.step_time_s, 1.2);
  std::vector<ds::autotune::SkippedTrial> skipped;
  auto samples = ds::autotune::samples_from_trials(ds::profiles::list_trials(store), cluster, {}, &skipped);
  ASSERT_EQ(samples.size(), 2u);
  std::set<double> measured = {samples[0].measured_s, samples[1].measured_s};
  EXPECT_EQ(measured, (std::set<double>{0.2, 1.2}));
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0].reason.rfind("superseded by trial ", 0), 0u) << skipped[0].reason;
}

}  // namespace

namespace {

TEST(Measure, JsonNamesEachRunAndTheFit) {
  ds::autotune::MeasureReport r;
  ds::autotune::MeasuredPlan p;
  p.rank = 3;
  p.ranked.plan = ds::test::base_plan();
  p.run.status = "oom";
  p.run.error = "out of memory";
  r.plans.push_back(p);
  r.calibration_note = "not recalibrated";
  auto j = ds::autotune::measure_json(r);
  EXPECT_EQ(j["plans"][0]["rank"], 3);
  EXPECT_EQ(j["plans"][0]["status"], "oom");
  EXPECT_TRUE(j["plans"][0]["measured_s"].is_null());
  EXPECT_TRUE(j["calibration"].is_null());
  EXPECT_EQ(j["note"], "not recalibrated");
}

}  // namespace
