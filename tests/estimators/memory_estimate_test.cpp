#include "estimators/memory_estimate.hpp"

#include <gtest/gtest.h>

#include "common/units.hpp"
#include "estimators/activation_memory.hpp"
#include "estimators/presets.hpp"
#include "estimators/runtime_overhead.hpp"
#include "profiles/hardware_presets.hpp"
#include "tests/estimators/memory_items.hpp"

namespace ds::estimators {
namespace {

using test::item_bytes;
using test::preset;

// The worked example of docs/estimator.md: Llama-2-7B on 8 x A100-80GB, ZeRO-2, bf16 AdamW,
// micro-batch 1 x 4096 tokens, fused attention, no checkpointing. Ψ = 6,738,415,616, N = 8.
//   params 2Ψ = 13,476,831,232          master 4Ψ/8 = 3,369,207,808
//   Adam 8Ψ/8 = 6,738,415,616           grads 2Ψ/8 = 1,684,603,904
//   (bf16 with ZeRO accumulates in bf16: no fp32 accumulator; the step makes an fp32 copy of
//   the gradient partition instead, 4Ψ/8 = 3,369,207,808, in the optimizer-step phase)
//   activations per layer (sb = 4096 tokens, h = 4096, ffn = 11008):
//     each RMSNorm keeps its fp32 input and normalised bf16 value (4 + 2 B x h) and a 4-byte
//     rsqrt; its bf16 output (2 B x h) feeds a projection: 2 x 32,772 = 65,544 B per token;
//     q,k,v + attn-out 32,768 B; SwiGLU 8 x 11008 = 88,064 B -> 4096 x 186,376 = 763,396,096;
//     log-sum-exp 4 x 32 heads x 4096 = 524,288 -> 763,920,384 per layer, x 32 = 24,445,452,288;
//     + final norm and lm_head input 4096 x 32,772 = 134,234,112; + RoPE cos/sin tables
//     2 x 2 B x 4096 x 128 = 2,097,152 -> 24,581,783,552
//   logits 4096 x 32000 x 12 (fp32 log-probs and two fp32 gradients in backward) = 1,572,864,000
//   reduce bucket 5e8 x 2 B = 1e9 (forward/backward); all-gather bucket 1e9 (step)
//   optimizer scratch chunks 2 x 2^18 x 4 B = 2,097,152 (always)
//   tensor peak = states 25,269,058,560 + 2,097,152 + max(24,581,783,552 + 1,572,864,000 + 1e9,
//                                                         1e9 + 3,369,207,808) = 52,425,803,264
//   runtime: CUDA context 768 MiB + NCCL 512 MiB + 5% fragmentation (2,621,290,163.2)
//   -> 56,389,270,707.2 bytes = 52.52 GiB
TEST(MemoryEstimate, Llama7bZero2WorkedExample) {
  auto cluster = profiles::hardware_preset("a100-80g");
  Plan plan;
  plan.zero_stage = 2;
  plan.dp = 8;
  plan.seq_len = 4096;
  MemoryEstimate e = estimate_memory(preset("llama-2-7b"), cluster, plan);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kParams), 13'476'831'232);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kMasterParams), 3'369'207'808);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kOptimizerStates), 6'738'415'616);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kGradients), 1'684'603'904);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kGradAccumFp32), 0);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kStepTemporaries), 3'369'207'808 + 2'097'152);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kActivations), 24'581'783'552);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kLogitsAndLoss), 1'572'864'000);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kCommBuckets), 2e9);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kRuntime), 1280.0 * kMiB);
  EXPECT_NEAR(item_bytes(e.items, Category::kFragmentation), 0.05 * 52'425'803'264, 1);
  EXPECT_NEAR(e.device_peak_bytes, 56'389'270'707.2, 1);
  EXPECT_NEAR(e.device_peak_bytes / kGiB, 52.52, 0.005);
  EXPECT_DOUBLE_EQ(e.cpu_peak_bytes_per_node, 0);
  FitCheck fit = check_fit(e, cluster);
  EXPECT_TRUE(fit.fits);
  EXPECT_NEAR(fit.device_headroom_bytes, 81920 * kMiB - 56'389'270'707.2, 1);
  // The tensor peak of the worked example: no runtime baseline, no fragmentation.
  EXPECT_NEAR(tensor_peak_bytes(e), 52'425'803'264, 1);
}

TEST(MemoryEstimate, CpuOnlyRunHasNoCudaContext) {
  auto cluster = profiles::hardware_preset("cpu-only");
  Plan plan;
  plan.dtype = DType::kFp32;
  plan.seq_len = 128;
  plan.micro_batch = 4;
  plan.fused_attention = false;
  MemoryEstimate e = estimate_memory(preset("ds-tiny"), cluster, plan);
  ASSERT_EQ(item_bytes(e.items, Category::kRuntime), kDefaultCpuProcessBytes);  // no NCCL with one rank
  // fp32 AdamW, stage 0: 4 + 4 + 8 = 16 bytes per parameter, no master copy or accumulator.
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kParams), 4.0 * 1'049'728);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kMasterParams), 0);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kGradAccumFp32), 0);
  FitCheck fit = check_fit(e, cluster);
  EXPECT_TRUE(fit.fits);
  EXPECT_DOUBLE_EQ(fit.cpu_headroom_bytes, cluster.cpu_memory_per_node_bytes - e.device_peak_bytes);
}

TEST(MemoryEstimate, OffloadFillsEachNodesCpu) {
  auto cluster = profiles::hardware_preset("h100-80g");
  Plan plan;
  plan.zero_stage = 3;
  plan.dp = 8;
  plan.dtype = DType::kFp16;
  plan.offload_optimizer = plan.offload_param = OffloadDevice::kCpu;
  const ModelSpec& m = preset("llama-2-70b");
  MemoryEstimate e = estimate_memory(m, cluster, plan);
  // 8 ranks x 18 bytes x Ψ/8 = 18Ψ per node (DeepSpeed's offload_param figure before its 1.5).
  // + each rank's CPU optimizer scratch chunks (2 x 2^18 fp32 elements).
  EXPECT_DOUBLE_EQ(e.cpu_peak_bytes_per_node, 18.0 * 68'976'648'192 + 8 * 2'097'152);
  EXPECT_DOUBLE_EQ(item_bytes(e.items, Category::kParams), 2.0 * 68'976'648'192);  // on the CPU
  EXPECT_EQ(e.bytes(Category::kParams, Location::kDevice), 0);
  // Gathered on the device: largest module (lm_head, 262,144,000) + prefetch 5e7 + persistent
  // tensors (norms: 161 x 8192 = 1,318,912) in fp16.
  EXPECT_DOUBLE_EQ(e.bytes(Category::kGatheredParams, Location::kDevice), 2.0 * (262'144'000 + 50'000'000 + 1'318'912));
}

TEST(MemoryEstimate, FitNamesTheExceededMemory) {
  auto cluster = profiles::hardware_preset("a100-40g");
  cluster.gpus_per_node = 1;
  Plan plan;
  MemoryEstimate e = estimate_memory(preset("llama-2-13b"), cluster, plan);
  FitCheck fit = check_fit(e, cluster);
  EXPECT_FALSE(fit.fits);
  EXPECT_EQ(fit.limit, "device");
  EXPECT_LT(fit.device_headroom_bytes, 0);
  cluster.cpu_memory_per_node_bytes = 1e9;
  plan.zero_stage = 3;
  plan.offload_optimizer = plan.offload_param = OffloadDevice::kCpu;
  fit = check_fit(estimate_memory(preset("llama-2-13b"), cluster, plan), cluster);
  EXPECT_EQ(fit.limit, "cpu");
}

TEST(MemoryEstimate, LargestMicroBatchIsTheEdge) {
  auto cluster = profiles::hardware_preset("a100-80g");
  const ModelSpec& m = preset("llama-3-8b");
  ParamCount c = count_params(m);
  Plan plan;
  plan.zero_stage = 3;
  plan.dp = 8;
  plan.seq_len = 4096;
  plan.checkpointing = Checkpointing::kFull;
  std::int64_t mb = largest_micro_batch(m, c, cluster, plan);
  ASSERT_GT(mb, 1);
  plan.micro_batch = mb;
  EXPECT_TRUE(check_fit(estimate_memory(m, c, cluster, plan), cluster).fits);
  plan.micro_batch = mb + 1;
  EXPECT_FALSE(check_fit(estimate_memory(m, c, cluster, plan), cluster).fits);
  cluster.device_memory_bytes = 1e9;
  EXPECT_EQ(largest_micro_batch(m, c, cluster, plan), 0);
}

// ds's engine on two CPU ranks (Gloo), ds-tiny at 128 tokens.
Plan ds_two_ranks(int stage) {
  Plan plan;
  plan.engine = Engine::kDs;
  plan.zero_stage = stage;
  plan.dp = 2;
  plan.seq_len = 128;
  plan.fused_attention = false;
  return plan;
}

profiles::ClusterSpec two_cpu_ranks() {
  auto cluster = profiles::hardware_preset("cpu-only");
  cluster.gpus_per_node = 2;
  return cluster;
}

// ds's ZeRO-2 on two Gloo ranks, one bucket: the bucket is reduced after backward has freed the
// activations, so the peak is the states plus the reduce (backward_end), not plus activations.
TEST(MemoryEstimate, DsEngineReducesItsOnlyBucketAfterBackward) {
  const ModelSpec& m = preset("ds-tiny");
  ParamCount c = count_params(m);
  Plan plan = ds_two_ranks(2);
  const auto cluster = two_cpu_ranks();
  MemoryEstimate est = estimate_memory(m, c, cluster, plan);
  double always = 0, fb = 0, end = 0, other = 0;
  for (const auto& i : est.items) {
    if (i.location != Location::kDevice || i.category == Category::kRuntime || i.category == Category::kFragmentation) {
      continue;
    }
    (i.phase == Phase::kAlways ? always : i.phase == Phase::kForwardBackward ? fb : i.phase == Phase::kBackwardEnd ? end : other) +=
        i.bytes;
  }
  const double p = static_cast<double>(c.total);
  EXPECT_DOUBLE_EQ(end, 4 * p + 4 * (p + p));  // staging, Gloo's receive buffer, sum and chunk
  EXPECT_GT(end, fb);
  EXPECT_DOUBLE_EQ(tensor_peak_bytes(est), always + end);
  plan.engine = Engine::kDeepSpeed;
  EXPECT_DOUBLE_EQ(item_bytes(estimate_memory(m, c, cluster, plan).items, Category::kGradAccumFp32), 0);
}

// With several buckets (ZeRO-3: one per block) the buckets fill while the blocks run backward,
// when the loss has already freed the logits: the peak is the larger of forward/backward's
// fullest moment and a block's backward (its own activations, beside the buckets), never the
// sum (ds-tiny ZeRO-3 on 2 ranks: fp32 1.104 of the measured peak when the blocks' moment was
// priced beside the fuller moment's activations, bf16 0.892 when the logits were taken off a
// moment that did not hold them).
TEST(MemoryEstimate, BucketsFillWhileABlockRunsBackward) {
  const ModelSpec& m = preset("ds-tiny");
  ParamCount c = count_params(m);
  Plan plan = ds_two_ranks(3);
  plan.dtype = DType::kBf16;
  plan.micro_batch = 4;
  plan.checkpointing = Checkpointing::kFull;
  plan.stage3_param_persistence_threshold = 0;  // ds-tiny's tensors would all be persistent (whole)
  MemoryEstimate est = estimate_memory(m, c, two_cpu_ranks(), plan);
  double always = 0, fb = 0, fb_other = 0, blocks = 0, block_activations = 0;
  for (const auto& i : est.items) {
    if (i.location != Location::kDevice || i.category == Category::kRuntime || i.category == Category::kFragmentation) {
      continue;
    }
    const bool activations = i.category == Category::kActivations || i.category == Category::kLogitsAndLoss;
    if (i.phase == Phase::kAlways) always += i.bytes;
    if (i.phase == Phase::kForwardBackward) fb += i.bytes;
    if (i.phase == Phase::kForwardBackward && !activations) fb_other += i.bytes;
    if (i.phase == Phase::kBlockBackward) blocks += i.bytes;
    if (i.phase == Phase::kBlockBackward && activations) block_activations += i.bytes;
  }
  const ActivationMemory a = activation_memory(m, plan);
  EXPECT_DOUBLE_EQ(block_activations, a.block_backward_bytes());
  // Full checkpointing: every block's input, one block recomputed with its backward workspace,
  // lm_head's held gradient (tied), RoPE's tables.
  EXPECT_DOUBLE_EQ(a.block_backward_bytes(),
                   a.stored_bytes + a.recompute_bytes + a.held_grad_bytes + a.embedding_bytes);
  ASSERT_GT(fb_other, 0);  // the gathered parameters
  EXPECT_GT(blocks - block_activations, 0);
  EXPECT_DOUBLE_EQ(tensor_peak_bytes(est), always + std::max(fb, fb_other + blocks));
  EXPECT_GT(fb_other + blocks, fb);  // here the blocks' moment is the peak
  EXPECT_LT(tensor_peak_bytes(est), always + fb + blocks);
}

}  // namespace
}  // namespace ds::estimators
