#include "estimators/ds_zero_memory.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "estimators/buffer_memory.hpp"
#include "estimators/model_states_memory.hpp"
#include "estimators/param_count.hpp"

namespace ds::estimators {
namespace {

double bytes_of(const std::vector<MemoryItem>& items, Category c, Phase phase, Location at = Location::kDevice) {
  double sum = 0;
  for (const auto& i : items) {
    if (i.category == c && i.phase == phase && i.location == at) sum += i.bytes;
  }
  return sum;
}

Plan ds_plan(int stage, int dp) {
  Plan p;  // bf16 AdamW
  p.engine = Engine::kDs;
  p.zero_stage = stage;
  p.dp = dp;
  return p;
}

TEST(DsZeroMemory, OnlyForDsEnginesZeroAcrossRanks) {
  Plan p = ds_plan(2, 2);
  EXPECT_TRUE(p.ds_zero_optimizer());
  p.dp = 1;
  EXPECT_FALSE(p.ds_zero_optimizer()) << "one rank: ds's engine runs its plain optimizer";
  p = ds_plan(0, 2);
  EXPECT_FALSE(p.ds_zero_optimizer());
  p = ds_plan(2, 2);
  p.offload_optimizer = OffloadDevice::kCpu;
  EXPECT_TRUE(p.ds_zero_optimizer()) << "ds's engine offloads its optimizer to the CPU";
  p.dp = 1;
  EXPECT_TRUE(p.ds_zero_optimizer()) << "also on one rank";
  p.offload_optimizer = OffloadDevice::kNvme;
  EXPECT_TRUE(p.ds_zero_optimizer()) << "and to NVMe";
  p = ds_plan(3, 2);
  p.offload_param = OffloadDevice::kCpu;
  EXPECT_TRUE(p.ds_zero_optimizer()) << "parameter partitions in host memory";
  p.offload_param = OffloadDevice::kNvme;
  EXPECT_TRUE(p.ds_zero_optimizer()) << "and in NVMe swap files";
  EXPECT_TRUE(p.ds_zero_sharded());
  p.dp = 1;
  EXPECT_TRUE(p.ds_zero_sharded()) << "parameter offload on one rank: ZeRO-3 over a group of one";
  p.offload_param = OffloadDevice::kNone;
  EXPECT_FALSE(p.ds_zero_sharded()) << "one rank runs the single-process optimizer";
  p = ds_plan(2, 1);
  p.offload_param = OffloadDevice::kCpu;  // not a stage 3 plan: the single-process optimizer
  EXPECT_FALSE(p.ds_zero_sharded());
  p = ds_plan(2, 2);
  p.engine = Engine::kDeepSpeed;
  EXPECT_FALSE(p.ds_zero_optimizer());
}

TEST(DsZeroMemory, Stage2KeepsAnFp32GradientPartitionAndNo16BitGradients) {
  auto items = ds_zero_model_states(1000, ds_plan(2, 4));
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways), 2000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Phase::kAlways), 1000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways), 2000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradients, Phase::kAlways), 0);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Phase::kAlways), 1000);
  // model_states_memory hands a ds plan here; DeepSpeed's keeps the 16-bit partition instead.
  EXPECT_DOUBLE_EQ(bytes_of(model_states_memory(1000, ds_plan(2, 4)), Category::kGradAccumFp32, Phase::kAlways), 1000);
  Plan deepspeed = ds_plan(2, 4);
  deepspeed.engine = Engine::kDeepSpeed;
  EXPECT_DOUBLE_EQ(bytes_of(model_states_memory(1000, deepspeed), Category::kGradients, Phase::kAlways), 500);
}

TEST(DsZeroMemory, Stage1KeepsTheWholeGradientAndFp32MasterEvenInFp32) {
  Plan p = ds_plan(1, 2);
  p.dtype = DType::kFp32;
  auto items = ds_zero_model_states(1000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways), 4000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradients, Phase::kAlways), 4000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Phase::kAlways), 2000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Phase::kAlways), 2000);
}

TEST(DsZeroMemory, Stage3HoldsOnlyItsParameterPartition) {
  Plan p = ds_plan(3, 2);
  auto items = ds_zero_model_states(1000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways), 1000);  // 2 B x 1000 / 2
  // In fp32 the parameter partition is the master partition itself.
  p.dtype = DType::kFp32;
  items = ds_zero_model_states(1000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways), 0);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Phase::kAlways), 2000);
}

TEST(DsZeroMemory, OffloadMovesMasterStatesAndGradientPartitionToTheHost) {
  Plan p = ds_plan(2, 4);
  p.offload_optimizer = OffloadDevice::kCpu;
  auto items = ds_zero_model_states(1000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways), 2000);
  for (Category c : {Category::kMasterParams, Category::kOptimizerStates, Category::kGradAccumFp32}) {
    EXPECT_DOUBLE_EQ(bytes_of(items, c, Phase::kAlways), 0) << category_name(c);
  }
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Phase::kAlways, Location::kCpu), 1000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways, Location::kCpu), 2000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Phase::kAlways, Location::kCpu), 1000);
  // Stage 3 in fp32: the device keeps a parameter chunk of its own once the master has left.
  p = ds_plan(3, 2);
  p.dtype = DType::kFp32;
  p.offload_optimizer = OffloadDevice::kCpu;
  EXPECT_DOUBLE_EQ(bytes_of(ds_zero_model_states(1000, p), Category::kParams, Phase::kAlways), 2000);
  // offload_param cpu: the chunk is in host memory instead, with or without the optimizer there.
  p.offload_param = OffloadDevice::kCpu;
  for (OffloadDevice optimizer : {OffloadDevice::kCpu, OffloadDevice::kNone}) {
    p.offload_optimizer = optimizer;
    items = ds_zero_model_states(1000, p);
    EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways), 0);
    EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways, Location::kCpu), 2000);
  }
  // One rank: whole flat parameters and gradients on the device, fp32 copies on the host.
  p = ds_plan(1, 1);
  p.offload_optimizer = OffloadDevice::kCpu;
  items = ds_zero_model_states(1000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Phase::kAlways), 2000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradients, Phase::kAlways), 2000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Phase::kAlways, Location::kCpu), 4000);
  ParamCount count;
  // bf16 on a CPU device: the step's fp32 cast of the gradients; none on a GPU, and no buckets.
  EXPECT_DOUBLE_EQ(bytes_of(ds_zero_buffers(count, 0, 1000, p, true), Category::kStepTemporaries, Phase::kOptimizerStep), 4000);
  EXPECT_TRUE(ds_zero_buffers(count, 0, 1000, p, false).empty());
}

// NVMe: Adam's two states in swap files of whole 4 KiB blocks per sub-group, two buffer sets of a
// sub-group each in host memory; the master and gradient partition stay in host memory.
TEST(DsZeroMemory, NvmeSwapsAdamStatesInSubGroupsOfWholeBlocks) {
  Plan p = ds_plan(3, 2);
  p.offload_optimizer = OffloadDevice::kNvme;
  p.sub_group_size = 2000;  // 2048 after rounding to 1024 elements
  DsNvmeLayout l = ds_nvme_layout(5000, p);
  EXPECT_DOUBLE_EQ(l.sub_group, 2048);
  EXPECT_DOUBLE_EQ(l.sub_groups, 3);
  EXPECT_DOUBLE_EQ(l.file_elements, 2048 + 2048 + 1024);
  EXPECT_DOUBLE_EQ(l.buffer_sets, 2);  // buffer_count 4 / 2 states
  p.nvme_optimizer_buffers = 8;
  EXPECT_DOUBLE_EQ(ds_nvme_layout(5000, p).buffer_sets, 3) << "no more sets than sub-groups";
  p.nvme_optimizer_buffers = 4;
  auto items = ds_zero_model_states(10000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways, Location::kNvme), 2 * 4 * 5120.0);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways, Location::kCpu), 0);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Phase::kAlways, Location::kCpu), 4 * 5000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Phase::kAlways, Location::kCpu), 4 * 5000);
  ParamCount count;
  auto buffers = ds_zero_buffers(count, 0, 10000, p, false);
  EXPECT_DOUBLE_EQ(bytes_of(buffers, Category::kSwapBuffers, Phase::kAlways, Location::kCpu), 2 * 2 * 2048 * 4.0);
}

// DeepSpeed's stage 3 keeps sub-group i on the device when i < int((1 - ratio) x sub-groups).
TEST(DsZeroMemory, PartialOffloadKeepsTheFirstSubGroupsOnTheDevice) {
  EXPECT_EQ(ds_partial_offload_on_device(1000, 0.5, 100), 500);
  EXPECT_EQ(ds_partial_offload_on_device(1050, 0.5, 100), 500);  // 11 sub-groups: int(5.5)
  EXPECT_EQ(ds_partial_offload_on_device(1000, 0.0, 100), 1000);
  EXPECT_EQ(ds_partial_offload_on_device(1000, 1.0, 100), 0);
  EXPECT_EQ(ds_partial_offload_on_device(1000, 0.5, 5000), 0) << "one sub-group: int(0.5) keeps none";
  // (1 - 0.9) x 10 is 0.9999999999999998 in doubles, so DeepSpeed keeps none of 10 either.
  EXPECT_EQ(ds_partial_offload_on_device(1000, 0.9, 100), 0);
  EXPECT_EQ(ds_partial_offload_on_device(1000, 0.75, 100), 200);
  EXPECT_EQ(ds_partial_offload_on_device(0, 0.5, 100), 0);
}

TEST(DsZeroMemory, PartialOffloadSplitsMasterStatesAndGradientPartition) {
  Plan p = ds_plan(3, 2);
  p.offload_optimizer = OffloadDevice::kCpu;
  p.offload_optimizer_ratio = 0.5;
  p.sub_group_size = 100;
  // 2000 parameters over 2 ranks: 10 sub-groups of 100, the first 5 kept.
  auto items = ds_zero_model_states(2000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Phase::kAlways), 4 * 500);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Phase::kAlways, Location::kCpu), 4 * 500);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways), 8 * 500);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways, Location::kCpu), 8 * 500);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Phase::kAlways), 4 * 500);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Phase::kAlways, Location::kCpu), 4 * 500);
  // The kept sub-groups' optimizer runs on the device, with its scratch chunks there.
  ParamCount count;
  EXPECT_DOUBLE_EQ(bytes_of(buffer_memory(count, 2000, p, false), Category::kStepTemporaries, Phase::kAlways), 2 * 500 * 4.0);
  // NVMe: only the offloaded part is swapped.
  p.offload_optimizer = OffloadDevice::kNvme;
  items = ds_zero_model_states(2000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways), 8 * 500);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Phase::kAlways, Location::kNvme),
                   2 * 4 * ds_nvme_layout(500, p).file_elements);
  // One rank: ZeRO-3 over a group of one, as the engine runs it.
  p = ds_plan(3, 1);
  p.offload_optimizer = OffloadDevice::kCpu;
  p.offload_optimizer_ratio = 0.5;
  EXPECT_TRUE(p.ds_zero_sharded());
  p.offload_optimizer_ratio = 1;
  EXPECT_FALSE(p.ds_zero_sharded());
}

TEST(DsZeroMemory, GlooReduceScatterNeedsAReceiveBufferAsLargeAsTheBucket) {
  ParamCount count;
  count.per_layer = 100;
  Plan p = ds_plan(2, 2);  // one bucket: the model is smaller than reduce_bucket_size
  auto gloo = ds_zero_buffers(count, 4, 1000, p, /*cpu_device=*/true);
  // Backward fills the fp32 staging bucket from its first gradient (after the loss); it is
  // reduced only after backward has freed the activations: staging (4000) + receive (4000) + sum
  // and chunk (2 x 4 x 500).
  EXPECT_DOUBLE_EQ(bytes_of(gloo, Category::kCommBuckets, Phase::kForwardBackward), 0);
  EXPECT_DOUBLE_EQ(bytes_of(gloo, Category::kCommBuckets, Phase::kBlockBackward), 4000);
  EXPECT_DOUBLE_EQ(bytes_of(gloo, Category::kCommBuckets, Phase::kBackwardEnd), 4000 + 4000 + 4000);
  auto nccl = ds_zero_buffers(count, 4, 1000, p, /*cpu_device=*/false);
  EXPECT_DOUBLE_EQ(bytes_of(nccl, Category::kCommBuckets, Phase::kBackwardEnd), 4000 + 2000);
  // After the step: the all-gather's whole bucket and this rank's piece, in bf16.
  EXPECT_DOUBLE_EQ(bytes_of(nccl, Category::kCommBuckets, Phase::kOptimizerStep), 2 * (1000 + 500));
}

TEST(DsZeroMemory, OverlapCommStagesASecondBucketOnlyWhenThereIsOne) {
  ParamCount count;
  Plan p = ds_plan(2, 2);
  p.overlap_comm = true;
  p.reduce_bucket_size = 400;  // three buckets
  auto items = ds_zero_buffers(count, 0, 1000, p, false);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBlockBackward), 2 * 4 * 400 + 4 * 200);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kForwardBackward), 0);
  // Gloo: the bucket in flight holds its receive buffer and chunk (the sum comes when waited for).
  items = ds_zero_buffers(count, 0, 1000, p, true);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBlockBackward), 2 * 4 * 400 + 4 * (400 + 200));
  p.overlap_comm = false;  // one bucket filling, then reduced at once: receive, sum and chunk
  items = ds_zero_buffers(count, 0, 1000, p, true);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBlockBackward), 4 * 400 + 4 * (400 + 400));
  p.overlap_comm = true;
  p.reduce_bucket_size = 5000;  // one bucket
  items = ds_zero_buffers(count, 0, 1000, p, false);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBlockBackward), 4 * 1000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBackwardEnd), 4 * 1000 + 4 * 500);
}

TEST(DsZeroMemory, Stage3GathersTheRestAndOneBlockWithBlockSizedBuckets) {
  ParamCount count;
  count.per_layer = 200;
  Plan p = ds_plan(3, 2);  // overlap_comm on by default at stage 3
  // 4 blocks of 200 and 300 outside them: buckets of max(200, 300) elements.
  auto items = ds_zero_buffers(count, 4, 1100, p, false);
  // DeepSpeed's default prefetch (5e7 elements) gathers the next block while one runs.
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGatheredParams, Phase::kForwardBackward), 2 * (300 + 2 * 200));
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBlockBackward), 2 * 4 * 300 + 4 * 150);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kOptimizerStep), 0);
  // No prefetch: when it is off, when a block exceeds it, when the live limit leaves no room for
  // a second block, and when the parameters come from NVMe (read ahead instead).
  auto gathered = [&](const Plan& plan) {
    return bytes_of(ds_zero_buffers(count, 4, 1100, plan, false), Category::kGatheredParams, Phase::kForwardBackward);
  };
  for (auto off : std::vector<std::function<void(Plan&)>>{
           [](Plan& q) { q.stage3_prefetch_bucket_size = 0; }, [](Plan& q) { q.stage3_prefetch_bucket_size = 199; },
           [](Plan& q) { q.stage3_max_live_parameters = 699; },
           [](Plan& q) { q.offload_param = OffloadDevice::kNvme; }}) {
    Plan q = p;
    off(q);
    EXPECT_DOUBLE_EQ(gathered(q), 2 * (300 + 200));
  }
  Plan q = p;
  q.stage3_prefetch_bucket_size = 200;
  q.stage3_max_live_parameters = 700;
  EXPECT_DOUBLE_EQ(gathered(q), 2 * (300 + 2 * 200)) << "both limits are inclusive";
}

TEST(DsZeroMemory, Stage1ReducesInTheStepAndCountsTheLargerOfReduceAndGather) {
  ParamCount count;
  auto items = ds_zero_buffers(count, 0, 1000, ds_plan(1, 2), true);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kForwardBackward), 0);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kOptimizerStep), 4000 + 4 * (1000 + 1000));
}

// offload_param nvme: each bucket's chunk (4 blocks of 3000, the rest 5000, over 2 ranks) from a
// 4 KiB boundary of one swap file, and buffer_count host buffers of the largest chunk.
TEST(DsZeroMemory, ParameterSwapFileOfWholeBlocksPerChunkAndItsBuffers) {
  ParamCount count;
  count.per_layer = 3000;
  Plan p = ds_plan(3, 2);  // bf16
  p.offload_param = OffloadDevice::kNvme;
  p.nvme_param_buffers = 3;
  auto states = ds_zero_model_states(17000, p);
  EXPECT_DOUBLE_EQ(bytes_of(states, Category::kParams, Phase::kAlways), 0);
  EXPECT_DOUBLE_EQ(bytes_of(states, Category::kParams, Phase::kAlways, Location::kCpu), 0);
  auto buffers = ds_zero_buffers(count, 4, 17000, p, false);
  // Chunks of 1500 and 2500 bf16 elements: 3000 -> 4096 and 5000 -> 8192 bytes.
  EXPECT_DOUBLE_EQ(bytes_of(buffers, Category::kParams, Phase::kAlways, Location::kNvme), 4 * 4096 + 8192);
  EXPECT_DOUBLE_EQ(bytes_of(buffers, Category::kSwapBuffers, Phase::kAlways, Location::kCpu), 3 * 8192);
}

// One rank with offload_param cpu: ZeRO-3 over a group of one. The parameters are a whole-model
// partition in host memory, the gradients only the fp32 partition, and the reduce-scatter a
// copy of the bucket into its chunk (no Gloo receive buffer, even on a CPU).
TEST(DsZeroMemory, OneRankParameterOffloadIsZero3OverAGroupOfOne) {
  ParamCount count;
  count.per_layer = 200;
  Plan p = ds_plan(3, 1);  // bf16, overlap_comm on at stage 3
  p.offload_param = OffloadDevice::kCpu;
  p.offload_optimizer = OffloadDevice::kCpu;
  auto states = ds_zero_model_states(1100, p);
  EXPECT_DOUBLE_EQ(bytes_of(states, Category::kParams, Phase::kAlways), 0);
  EXPECT_DOUBLE_EQ(bytes_of(states, Category::kParams, Phase::kAlways, Location::kCpu), 2 * 1100);
  EXPECT_DOUBLE_EQ(bytes_of(states, Category::kGradients, Phase::kAlways), 0);
  EXPECT_DOUBLE_EQ(bytes_of(states, Category::kGradAccumFp32, Phase::kAlways, Location::kCpu), 4 * 1100);
  auto buffers = ds_zero_buffers(count, 4, 1100, p, /*cpu_device=*/true);
  // The rest, one block and the next (prefetched).
  EXPECT_DOUBLE_EQ(bytes_of(buffers, Category::kGatheredParams, Phase::kForwardBackward), 2 * (300 + 2 * 200));
  // Two fp32 buckets of max(block, rest) = 300 (overlap_comm) and the chunk the one in flight is copied into.
  EXPECT_DOUBLE_EQ(bytes_of(buffers, Category::kCommBuckets, Phase::kBlockBackward), 2 * 4 * 300 + 4 * 300);
}

// Stage 3 with persistent parameters: a block of 150 + a 50-element norm, 4 blocks, and outside
// them an embedding of 300 and a final norm of 10. Under a threshold of 60 the norms (4 x 50 + 10)
// are whole on every rank, and their gradients one fp32 bucket filled through backward and
// reduced at its end; the blocks' and the rest's buckets shrink by them.
TEST(DsZeroMemory, PersistentParametersStayWholeAndReduceAtTheEnd) {
  ParamCount count;
  count.per_layer = 200;
  count.modules = {ModuleParams{.name = "embed", .weight = 300},
                   ModuleParams{.name = "block.*.proj", .weight = 150, .instances = 4, .per_layer = true},
                   ModuleParams{.name = "block.*.norm", .weight = 50, .instances = 4, .per_layer = true},
                   ModuleParams{.name = "norm", .weight = 10}};
  Plan p = ds_plan(3, 2);  // bf16, overlap_comm on at stage 3
  p.stage3_param_persistence_threshold = 60;
  auto items = ds_zero_buffers(count, 4, 1110, p, /*cpu_device=*/false);
  // The rest, one block and the next (prefetched).
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGatheredParams, Phase::kForwardBackward), 2 * (300 + 2 * 150));
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGatheredParams, Phase::kAlways), 2 * 210);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBlockBackward), 2 * 4 * 300 + 4 * 150 + 4 * 210);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kCommBuckets, Phase::kBackwardEnd), 4 * 210 + 4 * 105);
  p.stage3_param_persistence_threshold = 0;
  items = ds_zero_buffers(count, 4, 1110, p, false);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGatheredParams, Phase::kAlways), 0);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGatheredParams, Phase::kForwardBackward), 2 * (310 + 2 * 200));
}

}  // namespace
}  // namespace ds::estimators
