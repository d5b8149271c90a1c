#include "profiles/machine_info.hpp"

#include <gtest/gtest.h>

namespace ds::profiles {

TEST(MachineInfo, ParsesCpuinfo) {
  std::string cpuinfo =
      "processor\t: 0\nmodel name\t: AMD EPYC 7763 64-Core Processor\nphysical id\t: 0\ncore id\t: 0\n\n"
      "processor\t: 1\nmodel name\t: AMD EPYC 7763 64-Core Processor\nphysical id\t: 0\ncore id\t: 0\n\n"
      "processor\t: 2\nmodel name\t: AMD EPYC 7763 64-Core Processor\nphysical id\t: 0\ncore id\t: 1\n\n";
  EXPECT_EQ(parse_cpu_model(cpuinfo), "AMD EPYC 7763 64-Core Processor");
  EXPECT_EQ(parse_physical_cores(cpuinfo), 2);  // hyperthread pairs count once
  EXPECT_EQ(parse_physical_cores("processor : 0\nprocessor : 1\n"), 2);  // VM without core ids
  EXPECT_EQ(parse_cpu_model(""), "unknown CPU");
}

TEST(MachineInfo, ParsesMeminfo) {
  EXPECT_EQ(parse_mem_total_bytes("MemTotal:       24683620 kB\nMemFree: 1 kB\n"), 24683620ull * 1024);
  EXPECT_EQ(parse_mem_total_bytes("nothing"), 0u);
}

TEST(MachineInfo, FingerprintIsStableAndSensitive) {
  MachineInfo a = read_machine_info();
  MachineInfo b = read_machine_info();
  EXPECT_GT(a.cpu_threads, 0);
  EXPECT_GT(a.memory_bytes, 0u);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_EQ(a.fingerprint().size(), 16u);
  b.hostname = "elsewhere";  // same hardware under another name: same machine
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  b.gpus.push_back({"NVIDIA H100 80GB HBM3", 80ull << 30, 132});
  EXPECT_NE(a.fingerprint(), b.fingerprint());
  MachineInfo c = a;
  c.memory_bytes += 5ull << 20;  // a few MiB of kernel drift is the same machine
  EXPECT_EQ(a.fingerprint(), c.fingerprint());
  // GPU memory as CUDA reports it differs from nvidia-smi's; names, count and driver decide.
  MachineInfo g = b;
  g.gpus[0].memory_bytes = 79ull << 30;
  EXPECT_EQ(g.fingerprint(), b.fingerprint());
  g.gpus.push_back(g.gpus[0]);
  EXPECT_NE(g.fingerprint(), b.fingerprint());
  MachineInfo d = b;
  d.gpu_driver = "580.159.04";
  EXPECT_NE(d.fingerprint(), b.fingerprint());
}

TEST(MachineInfo, ParsesNvidiaSmiCsv) {
  std::string driver;
  auto gpus = parse_nvidia_smi_gpus("NVIDIA H200, 580.159.04\nNVIDIA H200, 580.159.04\n", driver);
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].name, "NVIDIA H200");
  EXPECT_EQ(gpus[1].name, "NVIDIA H200");
  EXPECT_EQ(driver, "580.159.04");
  // A comma inside the name: the version is after the last one.
  driver.clear();
  gpus = parse_nvidia_smi_gpus("Tesla X, rev 2, 535.54.03\r\n", driver);
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].name, "Tesla X, rev 2");
  EXPECT_EQ(driver, "535.54.03");
  // Errors printed instead of the table give no GPUs.
  driver.clear();
  EXPECT_TRUE(parse_nvidia_smi_gpus("NVIDIA-SMI has failed because it couldn't communicate\n", driver).empty());
  EXPECT_TRUE(driver.empty());
}

}  // namespace ds::profiles
