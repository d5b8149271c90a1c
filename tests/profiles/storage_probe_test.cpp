#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {
namespace {

ProbeOptions quick_in(const std::string& dir) {
  ProbeOptions o;
  o.quick = true;
  o.progress = false;
  o.storage_dir = dir;
  return o;
}

// A fresh directory on the temp file system, removed afterwards.
struct ProbeDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("ds-storage-probe-test-" + std::to_string(::getpid()));
  ProbeDir() { std::filesystem::create_directories(path); }
  ~ProbeDir() { std::filesystem::remove_all(path); }
};

const Measurement* find_measurement(const ProbeReport& r, const std::string& probe) {
  for (const auto& m : r.measurements) {
    if (m.probe == probe) return &m;
  }
  return nullptr;
}

}  // namespace

TEST(StorageProbe, SkipsWithoutADirectory) {
  ProbeReport none;
  probe_storage(quick_in(""), none);
  EXPECT_TRUE(none.measurements.empty());
  ASSERT_EQ(none.skipped.size(), 1u);
  EXPECT_EQ(none.skipped[0].probe, "storage");
#ifdef DS_HAVE_URING
  EXPECT_EQ(none.skipped[0].reason, "no directory given (ds profile --storage-dir DIR)");
#else
  EXPECT_EQ(none.skipped[0].reason, "this ds was built without liburing");
#endif
}

TEST(StorageProbe, AMissingDirectoryIsNamedInTheSkip) {
  const std::string dir = "/nonexistent-ds-storage-dir";
  ProbeReport r;
  probe_storage(quick_in(dir), r);
  EXPECT_TRUE(r.measurements.empty());
  ASSERT_EQ(r.skipped.size(), 1u);
  if (r.skipped[0].reason.rfind("io_uring is not available here: ", 0) == 0) GTEST_SKIP() << r.skipped[0].reason;
#ifdef DS_HAVE_URING
  EXPECT_EQ(r.skipped[0].reason, dir + ": No such file or directory");
#else
  EXPECT_EQ(r.skipped[0].reason, "this ds was built without liburing");
#endif
}

// Quick: a 64 MiB file written and read twice in 1 MiB blocks, then 2 x 4000 random 4 KiB reads.
TEST(StorageProbe, StorageMeasuresOnADiskAndSkipsOtherwise) {
  ProbeDir dir;
  ProbeReport r;
  probe_storage(quick_in(dir.path.string()), r);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path)) << "the probe must remove its file";
  if (r.measurements.empty()) {
    ASSERT_EQ(r.skipped.size(), 1u);  // e.g. /tmp on tmpfs: skipped with a reason, never faked
    EXPECT_FALSE(r.skipped[0].reason.empty());
    GTEST_SKIP() << r.skipped[0].reason;
  }
  EXPECT_TRUE(r.skipped.empty());
  ASSERT_EQ(r.measurements.size(), 3u);
  const Measurement* write = find_measurement(r, "storage.seq_write");
  const Measurement* read = find_measurement(r, "storage.seq_read");
  const Measurement* random = find_measurement(r, "storage.rand_read_4k");
  ASSERT_TRUE(write && read && random);
  EXPECT_EQ(write->unit, "GB/s");
  EXPECT_EQ(read->unit, "GB/s");
  EXPECT_EQ(random->unit, "IOPS");
  for (const Measurement* m : {write, read, random}) {
    EXPECT_EQ(m->runs, 2) << m->probe;
    EXPECT_TRUE(std::isfinite(m->value) && m->value > 0.0) << m->probe;
    EXPECT_TRUE(std::isfinite(m->spread) && m->spread >= 0.0) << m->probe;
    EXPECT_EQ(m->params["dir"], dir.path.string()) << m->probe;
    EXPECT_EQ(m->params["file_bytes"], 64u << 20) << m->probe;
    EXPECT_EQ(m->params["o_direct"], true) << m->probe;
  }
  EXPECT_EQ(write->params["block_bytes"], 1u << 20);
  EXPECT_EQ(read->params["block_bytes"], 1u << 20);
  EXPECT_EQ(write->params["queue_depth"], 8);
  EXPECT_EQ(random->params["block_bytes"], 4096);
}

// The random 4 KiB reads run 32 requests in flight, not the sequential passes' 8: the stored
// profile must say which depth its IOPS were measured with.
TEST(StorageProbe, RandomReadsRecordTheQueueDepthTheyRanWith) {
  ProbeDir dir;
  ProbeReport r;
  probe_storage(quick_in(dir.path.string()), r);
  const Measurement* random = find_measurement(r, "storage.rand_read_4k");
  if (!random) GTEST_SKIP() << "storage not measured here";
  EXPECT_EQ(random->params["queue_depth"], 32);
}

}  // namespace ds::profiles
