// Each term of the cost model on GPT-2 small with round rates (tests/autotune/tune_fixtures.hpp),
// the arithmetic written out. GPT-2: 124,439,808 params S; matmul params N = S - wte 38,597,376 -
// wpe 786,432 + tied lm_head 38,597,376 = 123,653,376; 6N = 741,920,256 FLOPs/token; attention
// 12 L H T = 12 * 12 * 768 * 1024 = 113,246,208 FLOPs/token at seq 1024.
#include "autotune/cost_model.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::CostEstimate;
using ds::autotune::CostModel;
using ds::autotune::CostTerm;
using ds::estimators::Checkpointing;
using ds::estimators::OffloadDevice;

constexpr double kS = 124'439'808;           // parameters
constexpr double kDense = 741'920'256;       // 6N
constexpr double kAttention = 113'246'208;   // 12 L H T
constexpr double kTokens = 1024;             // one sequence per micro-batch
constexpr double kCompute = kTokens * kDense / 1e12;         // 0.759726342 s
constexpr double kAttn = kTokens * kAttention / 1e12;        // 0.115964117 s

CostEstimate price(const ds::estimators::Plan& p, int gpus = 1) {
  return CostModel(ds::test::gpt2(), ds::test::round_cluster(gpus)).estimate(p);
}

TEST(CostModel, ComputeAttentionOptimizerOverheadOnOneDevice) {
  auto e = price(ds::test::base_plan());
  EXPECT_NEAR(e.term(CostTerm::kCompute), kCompute, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kAttention), kAttn, 1e-12);
  EXPECT_EQ(e.term(CostTerm::kRecompute), 0);
  EXPECT_EQ(e.term(CostTerm::kDpComm), 0);  // dp 1
  // Fused AdamW in HBM: master r/w 8 + m, v r/w 16 + fp32 grad read 4 + bf16 param write 2 = 30 B.
  EXPECT_NEAR(e.term(CostTerm::kOptimizer), kS * 30 / 1e11, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kOverhead), 1e-3, 1e-15);
  const double step = kCompute + kAttn + kS * 30 / 1e11 + 1e-3;
  EXPECT_NEAR(e.step_time_s, step, 1e-12);
  EXPECT_NEAR(e.tokens_per_s, 1024 / step, 1e-9);
  EXPECT_NEAR(e.mfu, (1024 / step) * (kDense + kAttention) / 1e12, 1e-12);
  EXPECT_EQ(e.dominant(), CostTerm::kCompute);
  EXPECT_TRUE(e.missing_rate.empty());
}

TEST(CostModel, RecomputeFullIsOneForwardSelectiveIsTheAttentionForward) {
  auto p = ds::test::base_plan();
  p.checkpointing = Checkpointing::kFull;
  EXPECT_NEAR(price(p).term(CostTerm::kRecompute), (kCompute + kAttn) / 3, 1e-12);
  p.checkpointing = Checkpointing::kSelective;
  EXPECT_NEAR(price(p).term(CostTerm::kRecompute), kAttn / 3, 1e-12);
}

TEST(CostModel, Stage0AllReduceIsFullyExposed) {
  // bf16 without ZeRO accumulates (and reduces) fp32 gradients: ring all-reduce moves
  // 2 (n-1)/n S 4 B = 4 S B at n = 2, over 1e10 B/s, plus one bucket's latency (S < 5e8).
  auto p = ds::test::base_plan();
  p.dp = 2;
  EXPECT_NEAR(price(p, 2).term(CostTerm::kDpComm), 4 * kS / 1e10 + 20e-6, 1e-12);
}

TEST(CostModel, Stage2OverlapHidesAllButTheLastBucket) {
  // Reduce-scatter S/2 elements x 2 B = S bytes (hideable), all-gather after the step S bytes
  // (exposed). The backward (2/3 of 0.8757 s) hides the reduce-scatter but its last bucket.
  auto p = ds::test::base_plan();
  p.dp = 2;
  p.zero_stage = 2;
  p.overlap_comm = true;
  // 5e8-element buckets: the one bucket is the whole reduction, nothing is hidden;
  // latency (m + 1) calls x 1 bucket.
  EXPECT_NEAR(price(p, 2).term(CostTerm::kDpComm), kS / 1e10 + kS / 1e10 + 2 * 20e-6, 1e-12);
  // 5e7-element buckets: the last bucket is 5e7 x 2 B = 1e8 B = 0.01 s; 3 buckets per pass.
  p.reduce_bucket_size = 50'000'000;
  EXPECT_NEAR(price(p, 2).term(CostTerm::kDpComm), kS / 1e10 + 0.01 + 2 * 3 * 20e-6, 1e-12);
  // Without overlap the reduce-scatter is exposed again.
  p.overlap_comm = false;
  EXPECT_NEAR(price(p, 2).term(CostTerm::kDpComm), 2 * kS / 1e10 + 2 * 3 * 20e-6, 1e-12);
}

TEST(CostModel, Stage3GathersTwiceAndReducesEveryMicroBatch) {
  // Per micro-batch: 2 all-gathers of (n-1)/n S x 2 B and a reduce-scatter of (n-1)/n S x 2 B =
  // 3 S bytes at n = 2; 2 micro-batches: 6 S bytes. Without overlap all of it is exposed;
  // latency 3 m ceil(S / 5e6 prefetch) = 3 x 2 x 25 calls.
  auto p = ds::test::base_plan();
  p.dp = 2;
  p.zero_stage = 3;
  p.grad_accum = 2;
  p.overlap_comm = false;
  p.stage3_prefetch_bucket_size = 5'000'000;
  EXPECT_NEAR(price(p, 2).term(CostTerm::kDpComm), 6 * kS / 1e10 + 150 * 20e-6, 1e-12);
}

TEST(CostModel, TensorParallelAllReducesPerLayer) {
  // tp 2: 4 all-reduces per layer per micro-batch of b s h 2 B = 1024 x 768 x 2 = 1,572,864 B,
  // ring factor 2 (t-1)/t = 1: 48 calls x 1,572,864 B / 1e10 + 48 x 20 us. Compute halves.
  auto p = ds::test::base_plan();
  p.tp = 2;
  auto e = price(p, 2);
  EXPECT_NEAR(e.term(CostTerm::kTpComm), 48 * 1'572'864 / 1e10 + 48 * 20e-6, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kCompute), kCompute / 2, 1e-12);
  // Full recompute repeats the forward's 2 all-reduces: 6 per layer.
  p.checkpointing = Checkpointing::kFull;
  EXPECT_NEAR(price(p, 2).term(CostTerm::kTpComm), 72 * 1'572'864 / 1e10 + 72 * 20e-6, 1e-12);
}

TEST(CostModel, UlyssesAllToAllsPerLayer) {
  // sp 2 on 2 GPUs: per layer 4 all-to-alls forward and 4 backward of q, k, v and the output,
  // each rank's slice b s h B / sp = 1024 x 768 x 2 / 2 = 786,432 B, of which (sp-1)/sp leaves:
  // 12 layers x 2 passes x 4 tensors (GPT-2: kv-heads = heads) x 0.5 x 786,432 B / 1e10, plus
  // 96 calls x 20 us. Compute and attention halve (each rank has half the sequence, then half
  // the heads); tokens per step do not (the two ranks share their sequences).
  auto p = ds::test::base_plan();
  p.sp = 2;
  auto e = price(p, 2);
  EXPECT_NEAR(e.term(CostTerm::kSpComm), 12 * 2 * 4 * 0.5 * 786'432 / 1e10 + 96 * 20e-6, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kCompute), kCompute / 2, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kAttention), kAttn / 2, 1e-12);
  EXPECT_EQ(e.tokens_per_step, kTokens);
  // Full recompute runs the forward's all-to-alls again: 3 passes.
  p.checkpointing = Checkpointing::kFull;
  EXPECT_NEAR(price(p, 2).term(CostTerm::kSpComm), 12 * 3 * 4 * 0.5 * 786'432 / 1e10 + 144 * 20e-6, 1e-12);
  p.sp = 1;
  EXPECT_EQ(price(p, 1).term(CostTerm::kSpComm), 0);
}

TEST(CostModel, PipelineBubbleAndPointToPoint) {
  // pp 2, 4 micro-batches: each stage computes half the layers; p2p sends 2 x 4 x 1,572,864 B.
  // bubble = (pp-1)/m x pipelined work = 1/4 x (compute + attention + pp_comm).
  auto p = ds::test::base_plan();
  p.pp = 2;
  p.grad_accum = 4;
  auto e = price(p, 2);
  const double compute = 4 * kCompute / 2, attn = 4 * kAttn / 2;
  const double p2p = 2 * 4 * 1'572'864 / 1e10 + 8 * 20e-6;
  EXPECT_NEAR(e.term(CostTerm::kCompute), compute, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kPpComm), p2p, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kBubble), (compute + attn + p2p) / 4, 1e-12);
  // The bubble's share of the pipelined time is (pp-1)/(m+pp-1) = 1/5.
  EXPECT_NEAR(e.term(CostTerm::kBubble) / (compute + attn + p2p + e.term(CostTerm::kBubble)), 1.0 / 5, 1e-12);
}

TEST(CostModel, CpuOffloadMovesThePartitionAndRunsCpuAdam) {
  // Stage 2, dp 2, optimizer on the CPU: partition S/2; gradients down S/2 x 2 B and parameters
  // up S/2 x 2 B at 1e10 B/s; CPU Adam 1e9 params/s per node shared by 2 ranks.
  auto p = ds::test::base_plan();
  p.dp = 2;
  p.zero_stage = 2;
  p.offload_optimizer = OffloadDevice::kCpu;
  auto e = price(p, 2);
  EXPECT_NEAR(e.term(CostTerm::kOffload), 2 * (kS / 2 * 2) / 1e10, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kCpuOptimizer), (kS / 2) / (1e9 / 2), 1e-12);
  EXPECT_EQ(e.term(CostTerm::kOptimizer), 0);  // nothing steps on the device
}

TEST(CostModel, NvmeOffloadReadsAndWritesStates) {
  // Stage 3, dp 1, optimizer on NVMe: fp32 master + m + v = 12 B/param read and written at
  // 1e9 B/s each, plus gradients down and parameters up as with CPU offload.
  auto p = ds::test::base_plan();
  p.zero_stage = 3;
  p.offload_optimizer = OffloadDevice::kNvme;
  auto e = price(p);
  EXPECT_NEAR(e.term(CostTerm::kOffload), 2 * kS * 2 / 1e10 + 2 * kS * 12 / 1e9, 1e-9);
}

TEST(CostModel, MissingRateIsReportedNotGuessed) {
  auto cluster = ds::test::round_cluster(1);
  cluster.rates.disk_read_bytes_per_s = 0;
  auto p = ds::test::base_plan();
  p.zero_stage = 3;
  p.offload_optimizer = OffloadDevice::kNvme;
  EXPECT_EQ(CostModel(ds::test::gpt2(), cluster).estimate(p).missing_rate, "disk_read_bytes_per_s");
  p.offload_optimizer = OffloadDevice::kNone;
  EXPECT_EQ(CostModel(ds::test::gpt2(), cluster).estimate(p).missing_rate, "");
}

TEST(CostModel, CoefficientsScaleTheirTermOnly) {
  ds::autotune::CostModelOptions o;
  o.coefficients[CostTerm::kCompute] = 2.0;
  auto e = CostModel(ds::test::gpt2(), ds::test::round_cluster(1), o).estimate(ds::test::base_plan());
  EXPECT_NEAR(e.term(CostTerm::kCompute), 2 * kCompute, 1e-12);
  EXPECT_NEAR(e.raw_s[static_cast<int>(CostTerm::kCompute)], kCompute, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kAttention), kAttn, 1e-12);
}

TEST(CostModel, PresetRatesAreDerated) {
  // A preset's datasheet GEMM peak is reached at 70%: compute = tokens 6N / (0.7 peak).
  auto cluster = ds::test::round_cluster(1);
  cluster.is_preset = true;
  auto e = CostModel(ds::test::gpt2(), cluster).estimate(ds::test::base_plan());
  EXPECT_NEAR(e.term(CostTerm::kCompute), kCompute / 0.7, 1e-12);
  EXPECT_NEAR(e.term(CostTerm::kAttention), kAttn / 0.5, 1e-12);
}

TEST(CostModel, CpuRanksShareTheNode) {
  // On a CPU run two ranks split the node's GEMM rate: each computes at 5e11.
  auto cluster = ds::test::round_cluster(2);
  cluster.device = ds::profiles::DeviceKind::kCpu;
  auto p = ds::test::base_plan();
  p.dp = 2;
  EXPECT_NEAR(CostModel(ds::test::gpt2(), cluster).estimate(p).term(CostTerm::kCompute), 2 * kCompute, 1e-12);
}

TEST(CostModel, RefusesAClusterWithoutGemmRates) {
  auto cluster = ds::test::round_cluster(1);
  cluster.rates.gemm_flops_per_s = {};
  try {
    CostModel(ds::test::gpt2(), cluster);
    FAIL() << "no error";
  } catch (const ds::UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "round: no GEMM rate to price plans with (got 0 FLOP/s for fp32, fp16 and bf16); expected a measured or "
                 "preset GEMM rate; hint: run `ds profile` or plan with --gpu <preset>");
  }
}

TEST(CostModel, TermNamesRoundTrip) {
  for (int t = 0; t < ds::autotune::kCostTermCount; ++t) {
    auto term = static_cast<CostTerm>(t);
    EXPECT_EQ(ds::autotune::parse_cost_term(ds::autotune::cost_term_name(term), "--term"), term);
  }
  EXPECT_THROW(ds::autotune::parse_cost_term("compte", "--term"), ds::UsageError);
}

}  // namespace
