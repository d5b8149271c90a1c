#include "profiles/cluster_spec.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/units.hpp"
#include "profiles/hardware_presets.hpp"

namespace ds::profiles {
namespace {

TEST(ClusterSpec, FromProfileIsMeasuredAndNamedByItsId) {
  ProfileFacts facts;
  facts.profile_id = "p-42";
  facts.device = DeviceKind::kGpu;
  facts.device_name = "NVIDIA H100 80GB HBM3";
  facts.devices_per_node = 4;
  facts.device_memory_bytes = 81559 * kMiB;
  facts.cpu_memory_bytes = 512 * kGiB;
  facts.nvme_bytes = 2e12;
  facts.rates.gemm_flops_per_s.bf16 = 7e14;
  facts.runtime_overhead_bytes = 500 * kMiB;
  ClusterSpec spec = cluster_from_profile(facts, 2);
  EXPECT_FALSE(spec.is_preset);
  EXPECT_EQ(spec.source, "p-42");
  EXPECT_EQ(spec.world_size(), 8);
  EXPECT_DOUBLE_EQ(spec.device_memory_bytes, 81559 * kMiB);
  EXPECT_DOUBLE_EQ(spec.rates.gemm_flops_per_s.bf16, 7e14);
  EXPECT_DOUBLE_EQ(*spec.runtime_overhead_bytes, 500 * kMiB);
  EXPECT_FALSE(spec.collective_overhead_bytes.has_value());
}

TEST(ClusterSpec, CpuProfileUsesHostMemoryAsDeviceMemory) {
  ProfileFacts facts;
  facts.device = DeviceKind::kCpu;
  facts.cpu_memory_bytes = 24 * kGiB;
  facts.device_memory_bytes = 0;
  EXPECT_DOUBLE_EQ(cluster_from_profile(facts).device_memory_bytes, 24 * kGiB);
}

TEST(ClusterSpec, OverridesReplaceFiguresAndMarkTheSource) {
  ClusterOverrides o;
  o.gpus_per_node = 4;
  o.nodes = 2;
  ClusterSpec spec = apply_overrides(hardware_preset("a100-80g"), o);
  EXPECT_EQ(spec.world_size(), 8);
  EXPECT_EQ(spec.source, "a100-80g");  // counts are layout, not figures
  o.device_memory_bytes = 80e9;
  o.cpu_memory_per_node_bytes = 512e9;
  o.nvme_bytes_per_node = 0;
  spec = apply_overrides(hardware_preset("a100-80g"), o);
  EXPECT_DOUBLE_EQ(spec.device_memory_bytes, 80e9);
  EXPECT_DOUBLE_EQ(spec.cpu_memory_per_node_bytes, 512e9);
  EXPECT_DOUBLE_EQ(spec.nvme_bytes_per_node, 0);
  EXPECT_EQ(spec.source, "a100-80g+overrides");
  // On a CPU run --cpu-mem is also the device memory.
  ClusterOverrides cpu;
  cpu.cpu_memory_per_node_bytes = 16 * kGiB;
  EXPECT_DOUBLE_EQ(apply_overrides(hardware_preset("cpu-only"), cpu).device_memory_bytes, 16 * kGiB);
}

TEST(ClusterSpec, BadOverridesNameTheFlag) {
  ClusterOverrides o;
  o.gpus_per_node = 0;
  try {
    apply_overrides(hardware_preset("h100-80g"), o);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--gpus-per-node: must be at least 1 (got 0)");
  }
  o = {};
  o.cpu_memory_per_node_bytes = -1;
  try {
    apply_overrides(hardware_preset("h100-80g"), o);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--cpu-mem: must not be negative (got -1 B)");
  }
}

}  // namespace
}  // namespace ds::profiles
