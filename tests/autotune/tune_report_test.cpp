#include "autotune/tune_report.hpp"

#include <gtest/gtest.h>

#include "autotune/tune_options.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::CostEstimate;
using ds::autotune::CostTerm;
using ds::autotune::Objective;
using ds::autotune::RankedPlan;
using ds::autotune::TuneResult;
using ds::estimators::Checkpointing;
using ds::estimators::OffloadDevice;

// A ranked plan whose cost is given term by term; step time is their sum.
RankedPlan ranked(const ds::estimators::Plan& plan, double tokens_per_step,
                  std::initializer_list<std::pair<CostTerm, double>> terms, double device_gib = 1) {
  RankedPlan r;
  r.plan = plan;
  for (auto [term, s] : terms) {
    r.cost.term_s[static_cast<int>(term)] = s;
    r.cost.step_time_s += s;
  }
  r.cost.tokens_per_step = tokens_per_step;
  r.cost.tokens_per_s = tokens_per_step / r.cost.step_time_s;
  r.device_peak_bytes = device_gib * 1024 * 1024 * 1024;
  return r;
}

TEST(TuneReport, PlanLabelNamesEveryAxis) {
  EXPECT_EQ(ds::autotune::plan_label(ds::estimators::Plan{}), "zero0 none dp1.tp1.pp1 mb1x1 ckpt=none bf16 b=5e8");
  auto p = ds::test::base_plan();
  p.zero_stage = 3;
  p.offload_optimizer = OffloadDevice::kCpu;
  p.offload_param = OffloadDevice::kNvme;
  p.dp = 4, p.tp = 2, p.sp = 2, p.micro_batch = 4, p.grad_accum = 8;
  p.checkpointing = Checkpointing::kFull;
  p.dtype = ds::estimators::DType::kFp16;
  p.reduce_bucket_size = 150'000'000;  // 1.5 x 10^8
  EXPECT_EQ(ds::autotune::plan_label(p), "zero3 cpu/nvme dp4.tp2.pp1.sp2 mb4x8 ckpt=full fp16 b=1.5e8");
  p.zero_stage = 2;  // offload_param is shown at stage 3 only
  p.reduce_bucket_size = 0;
  EXPECT_EQ(ds::autotune::plan_label(p), "zero2 cpu dp4.tp2.pp1.sp2 mb4x8 ckpt=full fp16 b=0");
}

TEST(TuneReport, CostJsonListsEveryTermAndTheDominantOne) {
  const RankedPlan r = ranked(ds::test::base_plan(), 1000, {{CostTerm::kCompute, 0.3}, {CostTerm::kDpComm, 0.5}});
  const auto j = ds::autotune::cost_json(r.cost);
  EXPECT_EQ(j["terms_s"].size(), 12u);
  EXPECT_EQ(j["terms_s"]["dp_comm"], 0.5);
  EXPECT_EQ(j["terms_s"]["bubble"], 0.0);
  EXPECT_EQ(j["dominant"], "dp_comm");
  EXPECT_DOUBLE_EQ(j["step_time_s"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(j["tokens_per_s"].get<double>(), 1250.0);  // 1000 tokens / 0.8 s
  const auto ranked_j = ds::autotune::ranked_json(r);
  EXPECT_EQ(ranked_j["label"], ds::autotune::plan_label(r.plan));
  EXPECT_EQ(ranked_j["memory"]["device_peak_bytes"], 1073741824.0);
}

TEST(TuneReport, ExplainComparesTermsPerMillionTokens) {
  auto b = ds::test::base_plan();
  b.offload_optimizer = OffloadDevice::kCpu;
  TuneResult r;
  // #1: 2e6 tokens/step; per 1M tokens compute 0.5, dp_comm 0.1, overhead 0.05 (step 1.3 s:
  // 2e6 / 1.3 = 1,538,461.5 -> 1,538,462 tokens/s).
  r.top.push_back(ranked(ds::test::base_plan(), 2e6,
                         {{CostTerm::kCompute, 1.0}, {CostTerm::kDpComm, 0.2}, {CostTerm::kOverhead, 0.1}}, 2));
  // #2: 1e6 tokens/step; per 1M tokens compute 0.5, dp_comm 0.4, offload 0.1 (step 1.0 s: 1,000,000 tokens/s).
  r.top.push_back(ranked(b, 1e6, {{CostTerm::kCompute, 0.5}, {CostTerm::kDpComm, 0.4}, {CostTerm::kOffload, 0.1}},
                         1.5));
  // #1 saves 0.4 - 0.1 = 0.3 of dp_comm and pays 0.05 - 0 = 0.05 more overhead.
  const std::string text = ds::autotune::render_explain(r, Objective::kMemory);
  const std::string head = "\nwhy #1 (" + ds::autotune::plan_label(r.top[0].plan) + ") ranks first by memory:\n" +
                           "  vs #2 (" + ds::autotune::plan_label(b) + "): 1,538,462 vs 1,000,000 tokens/s; saves 0.300 "
                           "s/1M tokens of dp_comm, pays 0.050 s/1M tokens more overhead; memory 2.00 vs 1.50 GiB\n";
  EXPECT_EQ(text.substr(0, head.size()), head) << text;
  for (const char* cell : {"compute", "dp_comm", "offload", "overhead", "0.650", "1.000"}) {
    EXPECT_NE(text.find(cell, head.size()), std::string::npos) << cell << " in\n" << text;
  }
  EXPECT_EQ(text.find("bubble"), std::string::npos);  // terms zero in every plan are left out
  EXPECT_EQ(ds::autotune::render_explain(TuneResult{}, Objective::kThroughput), "");
}

TEST(TuneReport, SearchLineCountsSkippedAndPrunedPlans) {
  TuneResult r;
  r.raw_combinations = 1234;
  r.skipped.zero_offload = 100, r.skipped.pipeline_zero = 20, r.skipped.global_batch = 3;
  r.candidates = 1111;  // 1234 - (100 + 20 + 3)
  r.pruned = {{"device memory", 1000}, {"nvme", 6}};
  r.feasible = 105;
  r.elapsed_s = 0.25;
  const std::string text =
      ds::autotune::render_tune(ds::test::gpt2(), ds::test::round_cluster(2), ds::test::small_tune_options(), r);
  EXPECT_NE(text.find("\nsearch:  1,234 combinations, 123 not plans (100 offload/stage, 20 pipeline+ZeRO-2/3, 3 global "
                      "batch), 1,111 candidates, 1006 pruned (1000 device memory, 6 nvme), 105 ranked by throughput in "
                      "0.250 s\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("GPU GiB"), std::string::npos);
}

TEST(TuneReport, ExplainAndJsonNameTheTerms) {
  auto o = ds::test::small_tune_options();
  auto cluster = ds::test::round_cluster(2);
  auto r = ds::autotune::tune(ds::test::gpt2(), cluster, o);
  std::string text = ds::autotune::render_explain(r, o.objective);
  EXPECT_NE(text.find("why #1 ("), std::string::npos) << text;
  EXPECT_NE(text.find("compute"), std::string::npos);
  auto j = ds::autotune::tune_json(ds::test::gpt2(), cluster, o, r);
  EXPECT_EQ(j["top"].size(), 5u);
  EXPECT_EQ(j["objective"], "throughput");
  EXPECT_TRUE(j["top"][0]["cost"]["terms_s"].contains("dp_comm"));
  EXPECT_EQ(j["candidates"], r.candidates);
  EXPECT_EQ(j["raw_combinations"], r.raw_combinations);
  EXPECT_EQ(j["skipped"]["zero_offload"], r.skipped.zero_offload);
  EXPECT_EQ(j["coefficients"]["compute"], 1.0);  // uncalibrated: every term as derived
}

}  // namespace
