// The GPU probe without a GPU: one skip with the reason, never a measurement or a crash. On a CUDA
// build with a device it measures GEMM per dtype (scripts/device-check runs `ds profile` there).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {
namespace {

ProbeOptions quick_gpu_options() {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  return o;
}

}  // namespace

TEST(GpuProbe, IsSkippedWithTheReasonWithoutCuda) {
  ProbeReport r;
  probe_gpu(quick_gpu_options(), r);
#ifndef DS_TORCH_CUDA
  EXPECT_TRUE(r.measurements.empty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].probe, "gpu");
  EXPECT_EQ(r.skipped[0].reason, "this ds is built against a CPU-only LibTorch");
#else
  if (!torch::cuda::is_available()) {
    ASSERT_EQ(r.skipped.size(), 1u);
    EXPECT_EQ(r.skipped[0].reason, "LibTorch reports no CUDA device");
    return;
  }
  bool bf16_gemm = false;
  for (const auto& m : r.measurements) {
    bf16_gemm = bf16_gemm || (m.probe == "gpu.gemm" && m.params.value("dtype", std::string{}) == "bf16");
  }
  EXPECT_TRUE(bf16_gemm);
#endif
}

}  // namespace ds::profiles
