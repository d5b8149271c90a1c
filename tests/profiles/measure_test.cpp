#include "profiles/probes/measure.hpp"

#include <gtest/gtest.h>

#include "profiles/profile_facts.hpp"
#include "profiles/store.hpp"

namespace ds::profiles {

TEST(Measure, GpusComeFromGpuProbeRows) {
  Profile p;
  p.measurements = {{"gpu.memory", {{"device", 0}, {"name", "NVIDIA H100"}}, 85e9, "bytes", 0, 1},
                    {"gpu.sm_count", {{"device", 0}, {"name", "NVIDIA H100"}}, 132, "SMs", 0, 1}};
  gpus_from_measurements(p);
  ASSERT_EQ(p.machine.gpus.size(), 1u);
  EXPECT_EQ(p.machine.gpus[0].name, "NVIDIA H100");
  EXPECT_EQ(p.machine.gpus[0].sm_count, 132);
}

TEST(Measure, NvidiaSmiNamesStayAndTheProbeAddsMemory) {
  Profile p;
  p.machine.gpus = {{"NVIDIA H200", 0, 0}};
  p.machine.gpu_driver = "580.159.04";
  const std::string before = p.machine.fingerprint();
  p.measurements = {{"gpu.memory", {{"device", 0}, {"name", "NVIDIA H200 (CUDA)"}}, 150e9, "bytes", 0, 1},
                    {"gpu.sm_count", {{"device", 0}, {"name", "NVIDIA H200 (CUDA)"}}, 132, "SMs", 0, 1}};
  gpus_from_measurements(p);
  ASSERT_EQ(p.machine.gpus.size(), 1u);
  EXPECT_EQ(p.machine.gpus[0].name, "NVIDIA H200");
  EXPECT_EQ(p.machine.gpus[0].memory_bytes, 150000000000u);
  EXPECT_EQ(p.machine.gpus[0].sm_count, 132);
  EXPECT_EQ(p.machine.fingerprint(), before) << "a profile must be found by the fingerprint of a later lookup";
  Profile none;  // no CUDA probe rows: nvidia-smi's list is kept as it is
  none.machine.gpus = {{"NVIDIA H200", 0, 0}};
  gpus_from_measurements(none);
  ASSERT_EQ(none.machine.gpus.size(), 1u);
  EXPECT_EQ(none.machine.gpus[0].name, "NVIDIA H200");
}

TEST(Measure, QuickProfileOfThisMachineStoresAndFeedsAClusterSpec) {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  o.storage_dir = ::testing::TempDir();
  Profile p = measure_machine(o);
  EXPECT_GT(p.machine.cpu_threads, 0);
  EXPECT_FALSE(p.machine.simd.empty());
  EXPECT_NE(p.find("cpu.stream_triad"), nullptr);
  EXPECT_NE(p.find("cpu.gemm", {{"dtype", "fp32"}}), nullptr);
  Store store(":memory:");
  Profile back = load_profile(store, std::to_string(save_profile(store, p)));
  EXPECT_EQ(back.measurements.size(), p.measurements.size());
  ProfileFacts f = facts_from_profile(back);
  EXPECT_GT(f.rates.gemm_flops_per_s.fp32, 1e8);
  EXPECT_GT(f.rates.hbm_bytes_per_s, 1e8);
  ClusterSpec c = cluster_from_profile(f);
  EXPECT_FALSE(c.is_preset);
  EXPECT_EQ(c.source, f.profile_id);
}

}  // namespace ds::profiles
