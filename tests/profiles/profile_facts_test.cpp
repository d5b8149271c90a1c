#include "profiles/profile_facts.hpp"

#include <gtest/gtest.h>

namespace ds::profiles {

TEST(ProfileFacts, CpuProfileBecomesACpuDevice) {
  Profile p;
  p.id = 4;
  p.machine.cpu_model = "AMD EPYC";
  p.machine.memory_bytes = 24ull << 30;
  p.measurements = {{"cpu.gemm", {{"dtype", "fp32"}, {"shape", "square"}}, 150, "GFLOP/s", 0, 5},
                    {"cpu.gemm", {{"dtype", "fp32"}, {"shape", "mlp"}}, 170, "GFLOP/s", 0, 5},
                    {"cpu.gemm", {{"dtype", "bf16"}, {"shape", "mlp"}}, 30, "GFLOP/s", 0, 5},
                    {"cpu.stream_triad", {}, 19, "GB/s", 0, 5},
                    {"cpu.adam", {}, 2.9e8, "params/s", 0, 5},
                    {"storage.seq_read", {}, 1.5, "GB/s", 0, 3},
                    {"coll.all_reduce", {{"bytes", 4096}}, 0.2, "GB/s", 0, 5},
                    {"coll.all_reduce", {{"bytes", 67108864}}, 3.5, "GB/s", 0, 5}};
  ProfileFacts f = facts_from_profile(p);
  EXPECT_EQ(f.profile_id, "4");
  EXPECT_EQ(f.device, DeviceKind::kCpu);
  EXPECT_DOUBLE_EQ(f.device_memory_bytes, 24.0 * (1ull << 30));
  EXPECT_DOUBLE_EQ(f.rates.gemm_flops_per_s.fp32, 170e9);  // best shape
  EXPECT_DOUBLE_EQ(f.rates.gemm_flops_per_s.bf16, 30e9);
  EXPECT_DOUBLE_EQ(f.rates.hbm_bytes_per_s, 19e9);
  EXPECT_DOUBLE_EQ(f.rates.cpu_adam_params_per_s, 2.9e8);
  EXPECT_DOUBLE_EQ(f.rates.disk_read_bytes_per_s, 1.5e9);
  EXPECT_DOUBLE_EQ(f.rates.disk_write_bytes_per_s, 0);  // not measured: unknown, not guessed
  EXPECT_DOUBLE_EQ(f.rates.intra_node_bus_bytes_per_s, 3.5e9);  // largest message
}

TEST(ProfileFacts, GpuProfileUsesDeviceFigures) {
  Profile p;
  p.machine.gpus = {{"NVIDIA H100", 80ull << 30, 132}, {"NVIDIA H100", 80ull << 30, 132}};
  p.measurements = {{"gpu.gemm", {{"dtype", "bf16"}}, 700, "TFLOP/s", 0, 5},
                    {"gpu.d2d", {}, 2800, "GB/s", 0, 5},
                    {"gpu.h2d", {{"pinned", true}}, 50, "GB/s", 0, 5},
                    {"gpu.h2d", {{"pinned", false}}, 20, "GB/s", 0, 5}};
  ProfileFacts f = facts_from_profile(p);
  EXPECT_EQ(f.device, DeviceKind::kGpu);
  EXPECT_EQ(f.devices_per_node, 2);
  EXPECT_DOUBLE_EQ(f.rates.gemm_flops_per_s.bf16, 700e12);
  EXPECT_DOUBLE_EQ(f.rates.hbm_bytes_per_s, 2800e9);
  EXPECT_DOUBLE_EQ(f.rates.pcie_h2d_bytes_per_s, 50e9);  // pinned, as offload uses
}

}  // namespace ds::profiles
