#include <gtest/gtest.h>
#include <omp.h>

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "kernels/cpu/cpu_isa.hpp"
#include "profiles/probes/probes.hpp"

namespace ds::profiles {

// One quick run: 4 Mi fp32 parameters stepped 5 timed times by ds's kernel, then by torch's AdamW.
TEST(CpuAdamProbe, CpuAdamMeasuresDsKernelBesideTorch) {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  ProbeReport r;
  probe_cpu_adam(o, r);
  EXPECT_TRUE(r.skipped.empty());
  ASSERT_EQ(r.measurements.size(), 2u);
  const Measurement& ds_kernel = r.measurements[0];
  const Measurement& torch_adamw = r.measurements[1];
  EXPECT_EQ(ds_kernel.params["impl"], std::string("ds.cpu_adam/") + kernels::to_string(kernels::cpu_isa()));
  EXPECT_EQ(ds_kernel.params["threads"], omp_get_max_threads());
  EXPECT_EQ(torch_adamw.params["impl"], "torch.optim.AdamW");
  EXPECT_EQ(torch_adamw.params["threads"], torch::get_num_threads());
  for (const Measurement* m : {&ds_kernel, &torch_adamw}) {
    EXPECT_EQ(m->probe, "cpu.adam");
    EXPECT_EQ(m->unit, "params/s");
    EXPECT_EQ(m->params["params"], 4 << 20);
    EXPECT_EQ(m->runs, 5);
    EXPECT_TRUE(std::isfinite(m->value));
    EXPECT_TRUE(std::isfinite(m->spread) && m->spread >= 0.0);
    // Units, not speed: a rate in params/ms or per step would fall below this.
    EXPECT_GT(m->value, 1e6);
  }
}

}  // namespace ds::profiles
