#include "estimators/buffer_memory.hpp"

#include <gtest/gtest.h>

#include "estimators/presets.hpp"
#include "tests/estimators/memory_items.hpp"

namespace ds::estimators {
namespace {

using test::item_bytes;
using test::preset;

// ds-tiny (1,049,728 params) at ZeRO-1 on 4 ranks, fp16: every DeepSpeed buffer by hand, in order.
//   reduce bucket min(5e8, Ψ) x 2 B, one copy (overlap_comm is off below stage 3)  = 2Ψ
//   all-gather bucket min(5e8, Ψ) x 2 B, in the step                                = 2Ψ
//   fp32 copy of the gradient partition for the step, 4 B x Ψ/4                     = Ψ
//   optimizer scratch 2 x min(2^18, Ψ/4 = 262,432) x 4 B                           = 2,097,152
TEST(BufferMemory, Zero1Fp16ItemsByHand) {
  const ModelSpec& m = preset("ds-tiny");
  ParamCount c = count_params(m);
  ASSERT_EQ(c.total, 1'049'728);
  Plan plan;
  plan.dtype = DType::kFp16;
  plan.zero_stage = 1;
  plan.dp = 4;
  const double p = 1'049'728;
  auto items = buffer_memory(c, c.total, plan);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].category, Category::kCommBuckets);
  EXPECT_EQ(items[0].phase, Phase::kForwardBackward);
  EXPECT_DOUBLE_EQ(items[0].bytes, 2 * p);
  EXPECT_EQ(items[0].detail, "1.05e+06 elements x 2 B reduce bucket");
  EXPECT_EQ(items[1].category, Category::kCommBuckets);
  EXPECT_EQ(items[1].phase, Phase::kOptimizerStep);
  EXPECT_DOUBLE_EQ(items[1].bytes, 2 * p);
  EXPECT_EQ(items[2].category, Category::kStepTemporaries);
  EXPECT_EQ(items[2].phase, Phase::kOptimizerStep);
  EXPECT_DOUBLE_EQ(items[2].bytes, p);
  EXPECT_EQ(items[3].phase, Phase::kAlways);
  EXPECT_EQ(items[3].location, Location::kDevice);
  EXPECT_DOUBLE_EQ(items[3].bytes, 2'097'152);
}

// One rank without offload reduces nothing: only the scratch chunks, 2 x min(2^18, 1000) x 4 B.
// fp32 training makes no fp32 gradient copy either.
TEST(BufferMemory, SingleRankFp32HasOnlyTheScratchChunks) {
  ParamCount c = count_params(preset("ds-tiny"));
  Plan plan;
  plan.dtype = DType::kFp32;
  plan.zero_stage = 2;
  auto items = buffer_memory(c, 1000, plan);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_DOUBLE_EQ(items[0].bytes, 8000);
  EXPECT_EQ(items[0].detail, "2000 elements x 4 B optimizer scratch chunks");
  // Offloading the optimizer sends the gradients to the CPU: one rank needs a bucket then.
  plan.offload_optimizer = OffloadDevice::kCpu;
  EXPECT_DOUBLE_EQ(item_bytes(buffer_memory(c, 1000, plan), Category::kCommBuckets), 4000);
}

// ZeRO-3 gathers the largest module (ds-tiny: 65,536, embed and each MLP projection alike), the
// prefetch ahead capped by stage3_max_live_parameters, and tensors at or below the persistence
// threshold (nine RMSNorms of 128 = 1,152), in the working dtype (bf16).
TEST(BufferMemory, Zero3GathersModulePrefetchAndPersistentTensors) {
  ParamCount c = count_params(preset("ds-tiny"));
  ASSERT_EQ(c.largest_module, 65'536);
  Plan plan;
  plan.zero_stage = 3;
  plan.dp = 2;
  plan.stage3_prefetch_bucket_size = 1000;
  plan.stage3_param_persistence_threshold = 128;
  EXPECT_DOUBLE_EQ(item_bytes(buffer_memory(c, c.total, plan), Category::kGatheredParams), 2.0 * (66'536 + 1'152));
  plan.stage3_max_live_parameters = 10'000;  // below the largest module: the module still has to fit
  EXPECT_DOUBLE_EQ(item_bytes(buffer_memory(c, c.total, plan), Category::kGatheredParams), 2.0 * (65'536 + 1'152));
  plan.stage3_param_persistence_threshold = 0;
  plan.stage3_max_live_parameters = 1'000'000'000;
  plan.stage3_prefetch_bucket_size = 50'000'000;  // more than the model: capped at Ψ
  EXPECT_DOUBLE_EQ(item_bytes(buffer_memory(c, c.total, plan), Category::kGatheredParams), 2.0 * c.total);
  // Stage 3 has no stage 1/2 all-gather bucket: its only bucket is the reduce bucket.
  for (const auto& i : buffer_memory(c, c.total, plan)) {
    if (i.category == Category::kCommBuckets) {
      EXPECT_EQ(i.phase, Phase::kForwardBackward) << i.detail;
    }
  }
}

TEST(BufferMemory, StepTemporariesAndSwapBuffers) {
  const ModelSpec& m = preset("llama-2-7b");
  ParamCount c = count_params(m);
  Plan plan;
  plan.dtype = DType::kFp16;  // no fp32 accumulation: the step makes an fp32 gradient copy
  plan.zero_stage = 1;
  plan.dp = 4;
  auto items = buffer_memory(c, c.total, plan);
  // + ds's optimizer's two scratch chunks of 2^18 fp32 elements, kept between steps.
  EXPECT_DOUBLE_EQ(item_bytes(items, Category::kStepTemporaries), 4.0 * c.total / 4 + 2 * 262'144 * 4);
  plan.zero_stage = 3;
  plan.offload_optimizer = plan.offload_param = OffloadDevice::kNvme;
  items = buffer_memory(c, c.total, plan);
  // 4 optimizer buffers of min(sub_group_size 1e9, Ψ/4 = 1.68e9) fp32 elements, plus 5 parameter
  // buffers of max(buffer_size 1e8, largest module 131,072,000) fp16 elements.
  EXPECT_DOUBLE_EQ(item_bytes(items, Category::kSwapBuffers), 4 * 1e9 * 4 + 5 * 131'072'000.0 * 2);
  // Offloaded, the optimizer and its scratch chunks run on the CPU.
  EXPECT_DOUBLE_EQ(item_bytes(items, Category::kStepTemporaries), 2 * 262'144 * 4);
  EXPECT_EQ(items.back().location, Location::kCpu);
}

// On a CPU, LibTorch casts the bf16 gradients to a temporary fp32 copy as it adds them into the
// fp32 accumulation (a step-phase item); a CUDA kernel casts on the fly. Stage 0 all-reduces the
// flat gradient buffer in place, so two ranks add no reduce bucket.
TEST(BufferMemory, CpuAccumulationCastAndNoStage0Bucket) {
  const ModelSpec& m = preset("ds-tiny");
  ParamCount c = count_params(m);
  Plan plan;
  plan.dtype = DType::kBf16;  // stage 0: fp32 accumulation
  plan.dp = 2;
  auto step_bytes = [](const std::vector<MemoryItem>& items) {
    double sum = 0;
    for (const auto& i : items) sum += i.category == Category::kStepTemporaries && i.phase == Phase::kOptimizerStep ? i.bytes : 0;
    return sum;
  };
  EXPECT_DOUBLE_EQ(step_bytes(buffer_memory(c, c.total, plan, /*cpu_device=*/true)), 4.0 * c.total);
  EXPECT_DOUBLE_EQ(step_bytes(buffer_memory(c, c.total, plan, /*cpu_device=*/false)), 0);
  EXPECT_DOUBLE_EQ(item_bytes(buffer_memory(c, c.total, plan, true), Category::kCommBuckets), 0);
  plan.zero_stage = 1;  // ZeRO reduces through buckets
  EXPECT_GT(item_bytes(buffer_memory(c, c.total, plan, true), Category::kCommBuckets), 0);
}

// overlap_comm (on by default at stage 3) double-buffers only when a second bucket exists: a
// model smaller than reduce_bucket_size has one bucket (ds-tiny on 2 ranks measured 0.986 of the
// estimate with one buffer, 1.119 with two).
TEST(BufferMemory, OverlapNeedsASecondBucket) {
  const ModelSpec& m = preset("ds-tiny");
  ParamCount c = count_params(m);
  Plan plan;
  plan.dtype = DType::kFp32;  // 4 B gradients in the bucket
  plan.dp = 2;
  plan.zero_stage = 3;
  ASSERT_TRUE(plan.overlap_comm_enabled());
  const double p = static_cast<double>(c.total);
  plan.reduce_bucket_size = static_cast<std::int64_t>(5e8);  // one bucket holds every gradient
  EXPECT_DOUBLE_EQ(item_bytes(buffer_memory(c, c.total, plan, true), Category::kCommBuckets), 4.0 * p);
  plan.reduce_bucket_size = static_cast<std::int64_t>(p / 4);  // four buckets: two in flight
  EXPECT_DOUBLE_EQ(item_bytes(buffer_memory(c, c.total, plan, true), Category::kCommBuckets),
                   2 * 4.0 * static_cast<double>(plan.reduce_bucket_size));
}

}  // namespace
}  // namespace ds::estimators
