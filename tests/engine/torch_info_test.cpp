#include "engine/torch_info.hpp"

#include <gtest/gtest.h>
#include <torch/version.h>

#include <array>
#include <cstdio>
#include <memory>

namespace ds::engine {
namespace {

// Output of a shell command, or "" when it cannot run.
std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return "";
  std::string out;
  std::array<char, 256> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Abridged from Debian's libtorch 1.13 at::show_config().
constexpr const char* kShowConfig =
    "PyTorch built with:\n"
    "  - GCC 12.2\n"
    "  - CPU capability usage: AVX2\n"
    "  - Build settings: BLAS_INFO=generic, BUILD_TYPE=RelWithDebInfo, CXX_FLAGS=-O2 -DUSE_PTHREADPOOL "
    "-DUSE_FAKE=ON -fopenmp, LAPACK_INFO=generic, TORCH_VERSION=1.13.0, USE_CUDA=OFF, USE_NCCL=OFF, "
    "USE_OPENMP=ON, \n";

TEST(TorchBuildSetting, ReadsKeysFromTheBuildSettingsLine) {
  EXPECT_EQ(torch_build_setting(kShowConfig, "BLAS_INFO"), "generic");
  EXPECT_EQ(torch_build_setting(kShowConfig, "CXX_FLAGS"), "-O2 -DUSE_PTHREADPOOL -DUSE_FAKE=ON -fopenmp");
  EXPECT_EQ(torch_build_setting(kShowConfig, "USE_CUDA"), "OFF");
  EXPECT_EQ(torch_build_setting(kShowConfig, "USE_OPENMP"), "ON");  // the last one, before ", \n"
  EXPECT_EQ(torch_build_setting(kShowConfig, "USE_FAKE"), "");       // only inside CXX_FLAGS
  EXPECT_EQ(torch_build_setting(kShowConfig, "CUDA"), "");           // a suffix of USE_CUDA is no key
  EXPECT_EQ(torch_build_setting("", "USE_CUDA"), "");
}

TEST(TorchConfigLine, FindsALineByItsPrefix) {
  EXPECT_EQ(torch_config_line(kShowConfig, "CPU capability usage:"), "AVX2");
  EXPECT_EQ(torch_config_line(kShowConfig, "GCC"), "12.2");
  EXPECT_EQ(torch_config_line("ATen parallel backend: OpenMP\n", "ATen parallel backend:"), "OpenMP");
  EXPECT_EQ(torch_config_line(kShowConfig, "MKL"), "");
}

TEST(TorchInfo, DescribesTheLoadedLibTorch) {
  const auto info = torch_info();
  // Two independent sources in the loaded library agree with the header macros.
  EXPECT_EQ(torch_build_setting(info.build_config, "TORCH_VERSION"), info.version);
#if TORCH_VERSION_MAJOR == 1
  // Debian's libtorch-dev (CI): 1.13 with Gloo inside and gloo's headers from libgloo-dev.
  EXPECT_EQ(info.version.rfind("1.13.", 0), 0u) << info.version;
  EXPECT_TRUE(info.gloo_available) << "Debian's libtorch ships the Gloo process group";
  EXPECT_TRUE(info.ds_gloo) << "libgloo-dev's headers let ds compile the Gloo process group";
  EXPECT_FALSE(info.ds_nccl);
#endif
  EXPECT_GE(info.intraop_threads, 1);
  EXPECT_GE(info.interop_threads, 1);
  EXPECT_FALSE(info.parallel_backend.empty());
  EXPECT_NE(info.parallel_info.find("at::get_num_threads()"), std::string::npos);
  EXPECT_TRUE(info.cpu_capability == "DEFAULT" || info.cpu_capability == "AVX2" || info.cpu_capability == "AVX512")
      << info.cpu_capability;
}

TEST(TorchInfo, CudaFieldsAreConsistent) {
  const auto info = torch_info();
  if (info.cuda_available) {
    EXPECT_TRUE(info.cuda_compiled);
    EXPECT_GT(info.cuda_device_count, 0);
    EXPECT_FALSE(info.cuda_version.empty());
  } else {
    EXPECT_EQ(info.cuda_device_count, 0);
  }
  if (!info.cuda_compiled) {
    EXPECT_EQ(info.cuda_version, "");
    EXPECT_FALSE(info.nccl_available);
  }
}

TEST(TorchInfo, AgreesWithPythonTorch) {
  const std::string python =
      run("/usr/bin/python3 -c 'import torch, torch.distributed as d; "
          "print(torch.__version__, d.is_gloo_available(), torch.cuda.is_available())' 2>/dev/null");
  if (python.empty()) GTEST_SKIP() << "python3 with torch is not installed";
  const auto info = torch_info();
  // Python reports e.g. "1.13.0a0": the same release with a pre-release tag.
  EXPECT_EQ(python.rfind(info.version, 0), 0u) << python;
  EXPECT_NE(python.find(info.gloo_available ? " True " : " False "), std::string::npos) << python;
}

TEST(DriverGpus, ReportsDevicesOrWhyNot) {
  const auto gpus = driver_gpus();
  if (!gpus.driver_loaded) {
    EXPECT_FALSE(gpus.error.empty());
    EXPECT_TRUE(gpus.devices.empty());
    return;
  }
  EXPECT_FALSE(gpus.driver_version.empty());
  for (const auto& d : gpus.devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.memory_bytes, 1e9) << d.name;
  }
}

}  // namespace
}  // namespace ds::engine
