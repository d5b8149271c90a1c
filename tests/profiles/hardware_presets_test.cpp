#include "profiles/hardware_presets.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/units.hpp"

namespace ds::profiles {
namespace {

TEST(HardwarePresets, AllListedWithDatasheetFigures) {
  EXPECT_EQ(hardware_preset_names(),
            (std::vector<std::string>{"h100-80g", "h200", "a100-80g", "a100-40g", "l40s", "cpu-only"}));
  for (const auto& p : hardware_presets()) {
    SCOPED_TRACE(p.spec.source);
    EXPECT_TRUE(p.spec.is_preset);
    EXPECT_GT(p.spec.device_memory_bytes, 0);
    EXPECT_GT(p.spec.cpu_memory_per_node_bytes, 0);
    EXPECT_GT(p.spec.rates.gemm_flops_per_s.fp32, 0);
    EXPECT_GT(p.spec.rates.hbm_bytes_per_s, 0);
    EXPECT_GT(p.spec.rates.cpu_adam_params_per_s, 0);
    EXPECT_FALSE(p.spec.runtime_overhead_bytes.has_value());  // datasheets do not say; defaults apply
    EXPECT_FALSE(p.description.empty());
  }
}

TEST(HardwarePresets, NumbersThatMatter) {
  ClusterSpec h100 = hardware_preset("h100-80g");
  EXPECT_EQ(h100.gpus_per_node, 8);
  EXPECT_DOUBLE_EQ(h100.device_memory_bytes, 81559 * kMiB);  // nvidia-smi memory.total
  EXPECT_DOUBLE_EQ(h100.rates.gemm_flops_per_s.bf16, 989.4e12);
  EXPECT_DOUBLE_EQ(h100.rates.hbm_bytes_per_s, 3.35e12);
  EXPECT_DOUBLE_EQ(h100.rates.inter_node_bus_bytes_per_s, 50e9);  // 400 Gb/s per GPU
  EXPECT_DOUBLE_EQ(hardware_preset("a100-80g").device_memory_bytes, 80 * kGiB);
  EXPECT_DOUBLE_EQ(hardware_preset("a100-40g").device_memory_bytes, 40 * kGiB);
  EXPECT_DOUBLE_EQ(hardware_preset("a100-40g").rates.gemm_flops_per_s.bf16, 312e12);
  EXPECT_DOUBLE_EQ(hardware_preset("h200").device_memory_bytes, 143771 * kMiB);
  EXPECT_DOUBLE_EQ(hardware_preset("l40s").rates.gemm_flops_per_s.bf16, 362.05e12);
  EXPECT_DOUBLE_EQ(hardware_preset("a100-80g").rates.disk_read_bytes_per_s, 8 * 6.8e9);
  ClusterSpec cpu = hardware_preset("cpu-only");
  EXPECT_EQ(cpu.device, DeviceKind::kCpu);
  EXPECT_EQ(cpu.device_memory_bytes, cpu.cpu_memory_per_node_bytes);
}

TEST(HardwarePresets, UnknownNameListsChoicesAndNearest) {
  try {
    hardware_preset("h100", "--gpu");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--gpu: unknown hardware preset (got 'h100'); expected one of h100-80g, h200, a100-80g, "
                           "a100-40g, l40s, cpu-only; hint: nearest: h200, l40s, h100-80g; or give --gpu-mem/--cpu-mem "
                           "directly");
  }
}

}  // namespace
}  // namespace ds::profiles
