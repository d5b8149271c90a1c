#include "kernels/cpu/cpu_isa.hpp"

#include <gtest/gtest.h>

namespace ds::kernels {

TEST(CpuIsa, ChoosesTheBestSupported) {
  CpuFeatures none;
  EXPECT_EQ(choose_cpu_isa(none, ""), CpuIsa::kScalar);
  CpuFeatures avx2{.avx2 = true, .fma = true, .f16c = true};
  EXPECT_EQ(choose_cpu_isa(avx2, ""), CpuIsa::kAvx2);
  CpuFeatures avx512 = avx2;
  avx512.avx512f = avx512.avx512bw = avx512.avx512vl = avx512.avx512dq = true;
  EXPECT_EQ(choose_cpu_isa(avx512, ""), CpuIsa::kAvx512);
}

TEST(CpuIsa, OverrideOnlyLowers) {
  CpuFeatures avx2{.avx2 = true, .fma = true, .f16c = true};
  EXPECT_EQ(choose_cpu_isa(avx2, "scalar"), CpuIsa::kScalar);
  EXPECT_EQ(choose_cpu_isa(avx2, "avx512"), CpuIsa::kAvx2);
  EXPECT_EQ(choose_cpu_isa(avx2, "bogus"), CpuIsa::kAvx2);
}

TEST(CpuIsa, DetectionIsConsistent) {
  CpuFeatures f = detect_cpu_features();
  if (f.avx512f) EXPECT_TRUE(f.avx2);
  EXPECT_EQ(cpu_isa(), cpu_isa());
}

}  // namespace ds::kernels
