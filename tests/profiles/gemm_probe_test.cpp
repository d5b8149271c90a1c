#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {

// One quick run: fp32 then bf16, each over a 512^3 square and a 1024x2048x512 MLP-shaped GEMM.
TEST(GemmProbe, CpuGemmCoversBothDtypes) {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  ProbeReport r;
  probe_cpu_gemm(o, r);
  EXPECT_TRUE(r.skipped.empty());
  ASSERT_EQ(r.measurements.size(), 4u);
  struct Expected {
    const char* dtype;
    const char* shape;
    std::int64_t m, n, k;
  };
  const Expected expected[] = {{"fp32", "square", 512, 512, 512},
                               {"fp32", "mlp", 1024, 2048, 512},
                               {"bf16", "square", 512, 512, 512},
                               {"bf16", "mlp", 1024, 2048, 512}};
  for (int i = 0; i < 4; ++i) {
    const Measurement& m = r.measurements[i];
    const Expected& e = expected[i];
    SCOPED_TRACE(std::string(e.dtype) + " " + e.shape);
    EXPECT_EQ(m.probe, "cpu.gemm");
    EXPECT_EQ(m.params["dtype"], e.dtype);
    EXPECT_EQ(m.params["shape"], e.shape);
    EXPECT_EQ(m.params["m"], e.m);
    EXPECT_EQ(m.params["n"], e.n);
    EXPECT_EQ(m.params["k"], e.k);
    EXPECT_EQ(m.params["threads"], torch::get_num_threads());
    EXPECT_EQ(m.unit, "GFLOP/s");
    EXPECT_EQ(m.runs, 5);
    EXPECT_TRUE(std::isfinite(m.value));
    EXPECT_TRUE(std::isfinite(m.spread) && m.spread >= 0.0);
    // Units, not speed: counted in FLOP/s or TFLOP/s the value would leave this range.
    EXPECT_GT(m.value, 0.01);
    EXPECT_LT(m.value, 1e6);
  }
}

}  // namespace ds::profiles
