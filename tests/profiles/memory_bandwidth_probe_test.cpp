#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {

// One run of the probe (quick: 3 arrays of 8 Mi doubles, 8 timed passes each) checked whole.
TEST(MemoryBandwidthProbe, MemoryBandwidthIsPlausible) {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  ProbeReport r;
  probe_memory_bandwidth(o, r);
  EXPECT_TRUE(r.skipped.empty());
  ASSERT_EQ(r.measurements.size(), 2u);
  const Measurement& copy = r.measurements[0];
  const Measurement& triad = r.measurements[1];
  EXPECT_EQ(copy.probe, "cpu.stream_copy");
  EXPECT_EQ(triad.probe, "cpu.stream_triad");
  for (const Measurement* m : {&copy, &triad}) {
    EXPECT_EQ(m->unit, "GB/s") << m->probe;
    EXPECT_EQ(m->runs, 8) << m->probe;
    EXPECT_EQ(m->params["array_bytes"], (8u << 20) * sizeof(double)) << m->probe;  // 64 MiB: past any LLC
    EXPECT_EQ(m->params["threads"], omp_get_max_threads()) << m->probe;
    EXPECT_TRUE(std::isfinite(m->value)) << m->probe;
    EXPECT_TRUE(std::isfinite(m->spread) && m->spread >= 0.0) << m->probe;
  }
  // Units, not speed: any machine of the last 20 years does more than 0.5 GB/s and no DRAM does
  // 10 TB/s, so a value outside that range means bytes were counted in the wrong unit.
  EXPECT_GT(triad.value, 0.5);
  EXPECT_LT(triad.value, 10000);
  EXPECT_GT(copy.value, 0.5);
  EXPECT_LT(copy.value, 10000);
}

}  // namespace ds::profiles
