#include "estimators/estimate_options.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.hpp"
#include "profiles/profile_store.hpp"
#include "profiles/store.hpp"

namespace ds::estimators {

TEST(ResolveCluster, PresetWithOverrides) {
  ClusterOptions o;
  o.gpu = "a100-40g";
  o.nodes = 2;
  o.gpu_mem = "40GB";
  profiles::ClusterSpec c = resolve_cluster(o);
  EXPECT_TRUE(c.is_preset);
  EXPECT_EQ(c.nodes, 2);
  EXPECT_DOUBLE_EQ(c.device_memory_bytes, 40e9);
  o.gpu_mem = "forty";
  EXPECT_THROW(resolve_cluster(o), UsageError);
}

TEST(ResolveCluster, StoredProfileReplacesThePreset) {
  auto db = std::filesystem::temp_directory_path() / ("ds-est-profile-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(db);
  {
    profiles::Store store(db);
    profiles::Profile p;
    p.machine.cpu_model = "Planning CPU";
    p.machine.cpu_cores = p.machine.cpu_threads = 8;
    p.machine.memory_bytes = 64ull << 30;
    p.measurements = {{"cpu.gemm", {{"dtype", "fp32"}}, 400, "GFLOP/s", 0.01, 5}};
    profiles::save_profile(store, p);
  }
  ClusterOptions o;
  o.profile = "latest";
  o.db_path = db.string();
  profiles::ClusterSpec c = resolve_cluster(o);
  EXPECT_FALSE(c.is_preset);
  EXPECT_EQ(c.source, "1");
  EXPECT_EQ(c.device, profiles::DeviceKind::kCpu);
  EXPECT_DOUBLE_EQ(c.device_memory_bytes, 64.0 * (1ull << 30));
  EXPECT_DOUBLE_EQ(c.rates.gemm_flops_per_s.fp32, 400e9);
  o.profile = "9";
  EXPECT_THROW(resolve_cluster(o), UsageError);
  std::filesystem::remove(db);
}

}  // namespace ds::estimators
