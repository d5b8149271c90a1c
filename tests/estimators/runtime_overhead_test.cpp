#include "estimators/runtime_overhead.hpp"

#include <gtest/gtest.h>

#include "common/units.hpp"

namespace ds::estimators {
namespace {

profiles::ClusterSpec cluster(profiles::DeviceKind device, int nodes, int per_node) {
  profiles::ClusterSpec c;
  c.device = device;
  c.nodes = nodes;
  c.gpus_per_node = per_node;
  return c;
}

// The documented defaults: 768 MiB CUDA context, NCCL 4 MiB x 32 channels x 2 (send, receive)
// x 2 (ring, tree) = 512 MiB, 256 MiB CPU process baseline, no Gloo pool, 5% fragmentation.
TEST(RuntimeOverhead, DocumentedDefaults) {
  EXPECT_DOUBLE_EQ(kDefaultCudaContextBytes, 805'306'368);  // 768 x 2^20
  EXPECT_DOUBLE_EQ(kDefaultNcclBytes, 4 * kMiB * 32 * 2 * 2);
  RuntimeOverhead one_gpu = runtime_overhead(cluster(profiles::DeviceKind::kGpu, 1, 1));
  EXPECT_DOUBLE_EQ(one_gpu.runtime_bytes, 768 * kMiB);
  EXPECT_DOUBLE_EQ(one_gpu.collective_bytes, 0);  // a single rank starts no collective library
  EXPECT_DOUBLE_EQ(one_gpu.fragmentation, 0.05);
  // Two nodes of one GPU are two ranks as much as one node of two.
  EXPECT_DOUBLE_EQ(runtime_overhead(cluster(profiles::DeviceKind::kGpu, 2, 1)).collective_bytes, 512 * kMiB);
  EXPECT_DOUBLE_EQ(runtime_overhead(cluster(profiles::DeviceKind::kGpu, 1, 8)).collective_bytes, 512 * kMiB);
  RuntimeOverhead cpu = runtime_overhead(cluster(profiles::DeviceKind::kCpu, 1, 2));
  EXPECT_DOUBLE_EQ(cpu.runtime_bytes, 256 * kMiB);
  EXPECT_DOUBLE_EQ(cpu.collective_bytes, 0);  // Gloo
}

TEST(RuntimeOverhead, MeasuredValuesReplaceTheDefaults) {
  auto c = cluster(profiles::DeviceKind::kGpu, 1, 8);
  c.runtime_overhead_bytes = 500 * kMiB;
  c.collective_overhead_bytes = 100 * kMiB;
  c.allocator_fragmentation = 0.1;
  RuntimeOverhead o = runtime_overhead(c);
  EXPECT_DOUBLE_EQ(o.runtime_bytes, 500 * kMiB);
  EXPECT_DOUBLE_EQ(o.collective_bytes, 100 * kMiB);
  EXPECT_DOUBLE_EQ(o.fragmentation, 0.1);
  // A measured collective overhead does not apply to a single rank.
  c.gpus_per_node = 1;
  EXPECT_DOUBLE_EQ(runtime_overhead(c).collective_bytes, 0);
}

TEST(RuntimeOverhead, GpuItemsNameTheirSource) {
  auto c = cluster(profiles::DeviceKind::kGpu, 1, 2);
  c.runtime_overhead_bytes = 600 * kMiB;
  auto items = runtime_overhead_memory(c, 1e9);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].category, Category::kRuntime);
  EXPECT_EQ(items[0].detail, "CUDA context (measured)");
  EXPECT_DOUBLE_EQ(items[0].bytes, 600 * kMiB);
  EXPECT_EQ(items[1].category, Category::kRuntime);
  EXPECT_EQ(items[1].detail, "NCCL buffers (default)");
  EXPECT_DOUBLE_EQ(items[1].bytes, 512 * kMiB);
  // Fragmentation: 5% of the 1e9-byte tensor peak.
  EXPECT_EQ(items[2].category, Category::kFragmentation);
  EXPECT_EQ(items[2].detail, "5% of the tensor peak");
  EXPECT_DOUBLE_EQ(items[2].bytes, 5e7);
  for (const auto& i : items) {
    EXPECT_EQ(i.location, Location::kDevice);
    EXPECT_EQ(i.phase, Phase::kAlways);
  }
}

TEST(RuntimeOverhead, CpuRanksHaveAProcessBaselineAndNoCollectivePool) {
  auto items = runtime_overhead_memory(cluster(profiles::DeviceKind::kCpu, 1, 2), 0);
  ASSERT_EQ(items.size(), 2u);  // Gloo's default 0 bytes adds no item
  EXPECT_EQ(items[0].detail, "process baseline (default)");
  EXPECT_DOUBLE_EQ(items[0].bytes, 256 * kMiB);
  EXPECT_DOUBLE_EQ(items[1].bytes, 0);  // 5% of a zero tensor peak
  auto c = cluster(profiles::DeviceKind::kCpu, 1, 2);
  c.collective_overhead_bytes = 3 * kMiB;
  c.allocator_fragmentation = 0.25;
  items = runtime_overhead_memory(c, 4e6);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].detail, "collective buffers (measured)");
  EXPECT_DOUBLE_EQ(items[1].bytes, 3 * kMiB);
  EXPECT_EQ(items[2].detail, "25% of the tensor peak");
  EXPECT_DOUBLE_EQ(items[2].bytes, 1e6);
}

}  // namespace
}  // namespace ds::estimators
