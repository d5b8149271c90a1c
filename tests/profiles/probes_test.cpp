#include "profiles/probes/probes.hpp"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "kernels/cpu/cpu_isa.hpp"

namespace ds::profiles {
namespace {

const Measurement* find(const ProbeReport& r, const std::string& probe, const std::string& key = {},
                        const std::string& value = {}) {
  for (const auto& m : r.measurements) {
    if (m.probe == probe && (key.empty() || m.params.value(key, std::string{}) == value)) return &m;
  }
  return nullptr;
}

ProbeOptions quick() {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  return o;
}

}  // namespace

TEST(Probes, TimeRepeatedRunsWarmupPlusRepeats) {
  int calls = 0;
  auto t = time_repeated(2, 3, [&] { ++calls; });
  EXPECT_EQ(calls, 5);
  ASSERT_EQ(t.size(), 3u);
  for (double s : t) EXPECT_GE(s, 0.0);
}

TEST(Probes, MemoryBandwidthIsPlausible) {
  ProbeReport r;
  probe_memory_bandwidth(quick(), r);
  auto* triad = find(r, "cpu.stream_triad");
  auto* copy = find(r, "cpu.stream_copy");
  ASSERT_TRUE(triad && copy);
  // Any machine of the last 20 years does more than 0.5 GB/s and no DRAM does 10 TB/s.
  EXPECT_GT(triad->value, 0.5);
  EXPECT_LT(triad->value, 10000);
  EXPECT_EQ(triad->unit, "GB/s");
  EXPECT_GE(triad->runs, 5);
  EXPECT_GT(copy->value, 0.5);
}

TEST(Probes, UseAllCoresSetsTorchThreads) {
  if (std::getenv("OMP_NUM_THREADS") != nullptr) GTEST_SKIP() << "OMP_NUM_THREADS is set: the user's choice wins";
  use_all_cores();
  EXPECT_EQ(torch::get_num_threads(), static_cast<int>(std::thread::hardware_concurrency()));
}

TEST(Probes, CpuGemmCoversBothDtypes) {
  ProbeReport r;
  probe_cpu_gemm(quick(), r);
  auto* fp32 = find(r, "cpu.gemm", "dtype", "fp32");
  auto* bf16 = find(r, "cpu.gemm", "dtype", "bf16");
  ASSERT_TRUE(fp32 && bf16);
  EXPECT_GT(fp32->value, 0.1);
  EXPECT_LT(fp32->value, 1e6);
  EXPECT_EQ(fp32->unit, "GFLOP/s");
  EXPECT_GT(bf16->value, 0.01);
}

TEST(Probes, CpuAdamMeasuresDsKernelBesideTorch) {
  ProbeReport r;
  probe_cpu_adam(quick(), r);
  auto* ds_kernel = find(r, "cpu.adam", "impl", std::string("ds.cpu_adam/") + kernels::to_string(kernels::cpu_isa()));
  auto* torch_adamw = find(r, "cpu.adam", "impl", "torch.optim.AdamW");
  ASSERT_TRUE(ds_kernel && torch_adamw);
  EXPECT_GT(ds_kernel->value, 1e6);
  EXPECT_EQ(ds_kernel->unit, "params/s");
  EXPECT_EQ(ds_kernel->params.value("params", 0), 4 << 20);
  EXPECT_GT(torch_adamw->value, 1e6);
}

TEST(Probes, StorageMeasuresOnADiskAndSkipsOtherwise) {
  auto dir = std::filesystem::temp_directory_path() / ("ds-probe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ProbeOptions o = quick();
  o.storage_dir = dir.string();
  ProbeReport r;
  probe_storage(o, r);
  if (r.measurements.empty()) {
    ASSERT_EQ(r.skipped.size(), 1u);  // e.g. /tmp on tmpfs: skipped with a reason, never faked
    EXPECT_FALSE(r.skipped[0].reason.empty());
  } else {
    EXPECT_GT(find(r, "storage.seq_write")->value, 0.0);
    EXPECT_GT(find(r, "storage.seq_read")->value, 0.0);
    EXPECT_GT(find(r, "storage.rand_read_4k")->value, 10.0);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "the probe must remove its file";
  std::filesystem::remove_all(dir);

  ProbeReport none;
  probe_storage(quick(), none);
  ASSERT_EQ(none.skipped.size(), 1u);
  EXPECT_EQ(none.skipped[0].reason, "no directory given (ds profile --storage-dir DIR)");
}

TEST(Probes, GpuIsSkippedWithAReasonWithoutCuda) {
  ProbeReport r;
  probe_gpu(quick(), r);
  if (r.measurements.empty()) {
    ASSERT_EQ(r.skipped.size(), 1u);
    EXPECT_FALSE(r.skipped[0].reason.empty());
  } else {
    EXPECT_TRUE(find(r, "gpu.gemm", "dtype", "bf16"));
  }
}

}  // namespace ds::profiles

#include "profiles/probes/collective_probe.hpp"

namespace ds::profiles {

TEST(CollectiveProbe, BusBandwidthFactorsFollowNcclTests) {
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor("all_reduce", 4), 1.5);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor("all_gather", 4), 0.75);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor("reduce_scatter", 2), 0.5);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor("all_to_all", 8), 0.875);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor("broadcast", 8), 1.0);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor("all_reduce", 1), 1.0);
}

TEST(CollectiveProbe, TwoGlooRanksMeasureEveryCollective) {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  o.collective_ranks = 2;
  o.self_binary = DS_BINARY;
  ProbeReport r;
  probe_collectives(o, r);
  ASSERT_TRUE(r.skipped.empty()) << r.skipped[0].reason;
  for (const char* c : {"coll.all_reduce", "coll.all_gather", "coll.reduce_scatter", "coll.all_to_all", "coll.broadcast"}) {
    int sizes = 0;
    for (const auto& m : r.measurements) {
      if (m.probe != c) continue;
      ++sizes;
      EXPECT_GT(m.value, 0.0) << c;
      EXPECT_EQ(m.params["ranks"], 2);
      EXPECT_EQ(m.params["backend"], "gloo");
      EXPECT_GE(m.params["bytes"].get<double>(), 4096.0);
    }
    EXPECT_GE(sizes, 3) << c;  // 4 KiB .. 4 MiB in quick mode
  }
}

TEST(CollectiveProbe, SkipsWithOneRank) {
  ProbeOptions o;
  o.collective_ranks = 1;
  ProbeReport r;
  probe_collectives(o, r);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].reason, "fewer than 2 ranks asked for (--ranks)");
}

}  // namespace ds::profiles
