// DeepSpeed hostfile parsing and --include/--exclude filters.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "engine/launch/hostfile.hpp"

namespace ds::launch {
namespace {

const char kHostfile[] =
    "# cluster A\n"
    "worker-0 slots=4\n"
    "\n"
    "  worker-1   slots=4   # the second box\n"
    "worker-2 slots=2\n";

std::string flatten(const std::vector<NodeSlots>& nodes) {
  std::string out;
  for (const NodeSlots& node : nodes) {
    out += (out.empty() ? "" : " ") + node.host + ":";
    for (size_t i = 0; i < node.slots.size(); ++i) out += (i ? "," : "") + std::to_string(node.slots[i]);
  }
  return out;
}

TEST(LaunchHostfile, Parses) {
  std::vector<HostSlots> hosts = parse_hostfile(kHostfile, "hostfile");
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts[0].host, "worker-0");
  EXPECT_EQ(hosts[0].slots, 4);
  EXPECT_EQ(hosts[1].host, "worker-1");
  EXPECT_EQ(hosts[2].slots, 2);
  EXPECT_TRUE(parse_hostfile("# nothing\n\n", "h").empty());
}

TEST(LaunchHostfile, ErrorsAreLocated) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"worker-0 slots=4\nworker-1\n", "hosts:2: bad hostfile entry (got 'worker-1'); expected '<host> slots=<N>'"},
      {"worker-0 gpus=4\n", "hosts:1: bad hostfile entry (got 'worker-0 gpus=4'); expected '<host> slots=<N>'"},
      {"worker-0 slots=4 extra\n", "hosts:1: bad hostfile entry (got 'worker-0 slots=4 extra'); expected '<host> slots=<N>'"},
      {"worker-0 slots=four\n", "hosts:1: slots must be a positive whole number (got 'slots=four'); expected '<host> slots=<N>'"},
      {"worker-0 slots=0\n", "hosts:1: slots must be a positive whole number (got 'slots=0'); expected '<host> slots=<N>'"},
      {"a slots=1\n\na slots=2\n", "hosts:3: host 'a' is listed twice"},
  };
  for (const auto& [text, message] : cases) {
    try {
      parse_hostfile(text, "hosts");
      ADD_FAILURE() << message;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.what(), message);
    }
  }
}

TEST(LaunchHostfile, ReadsFiles) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("ds_launch_hostfile_test_" + std::to_string(getpid()));
  std::ofstream(path) << kHostfile;
  EXPECT_EQ(read_hostfile(path.string()).size(), 3u);
  std::ofstream(path) << "# empty\n";
  try {
    read_hostfile(path.string());
    ADD_FAILURE();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.what(), path.string() + ": the hostfile lists no host; expected '<host> slots=<N>' lines");
  }
  std::filesystem::remove(path);
  try {
    read_hostfile(path.string());
    ADD_FAILURE();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.what(), path.string() + ": cannot read the hostfile; expected a file of '<host> slots=<N>' lines");
  }
}

TEST(LaunchHostfile, IncludeAndExclude) {
  const std::vector<HostSlots> hosts = parse_hostfile(kHostfile, "hostfile");
  EXPECT_EQ(flatten(select_slots(hosts)), "worker-0:0,1,2,3 worker-1:0,1,2,3 worker-2:0,1");
  EXPECT_EQ(flatten(select_slots(hosts, "worker-0:0,1@worker-1")), "worker-0:0,1 worker-1:0,1,2,3");
  // Hostfile order wins over the filter's order; slots come out sorted and unique.
  EXPECT_EQ(flatten(select_slots(hosts, "worker-2@worker-0:3,1,1")), "worker-0:1,3 worker-2:0,1");
  EXPECT_EQ(flatten(select_slots(hosts, {}, "worker-1")), "worker-0:0,1,2,3 worker-2:0,1");
  EXPECT_EQ(flatten(select_slots(hosts, {}, "worker-0:0,3@worker-2:1")), "worker-0:1,2 worker-1:0,1,2,3 worker-2:0");
  EXPECT_EQ(flatten(select_slots(hosts, {}, "worker-2:0,1")), "worker-0:0,1,2,3 worker-1:0,1,2,3");
}

TEST(LaunchHostfile, FilterErrors) {
  const std::vector<HostSlots> hosts = parse_hostfile(kHostfile, "hostfile");
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"worker-0", "worker-1", "--include/--exclude: use one or the other, not both"},
      {"worker-9", "", "--include 'worker-9': host 'worker-9' is not in the hostfile; did you mean 'worker-0'?"},
      {"", "wrker-1:0", "--exclude 'wrker-1:0': host 'wrker-1' is not in the hostfile; did you mean 'worker-1'?"},
      {"gpu-node-17", "", "--include 'gpu-node-17': host 'gpu-node-17' is not in the hostfile; expected one of worker-0, "
                          "worker-1, worker-2"},
      {"worker-2:2", "", "--include 'worker-2:2': no slot '2' on host 'worker-2'; expected a slot in 0..1"},
      {"worker-2:x", "", "--include 'worker-2:x': no slot 'x' on host 'worker-2'; expected a slot in 0..1"},
      {"", "worker-0@worker-1@worker-2", "--exclude 'worker-0@worker-1@worker-2': leaves no slot to run on"},
  };
  for (const auto& [include, exclude, message] : cases) {
    try {
      select_slots(hosts, include, exclude);
      ADD_FAILURE() << message;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.what(), message);
    }
  }
}

}  // namespace
}  // namespace ds::launch
