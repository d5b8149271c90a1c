// The collective probe: bus-bandwidth factors as nccl-tests defines them, and real Gloo ranks
// (copies of ds started by the probe) measuring every collective.
#include "profiles/probes/collective_probe.hpp"

#include <gtest/gtest.h>

#include "profiles/probes/probes.hpp"

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
