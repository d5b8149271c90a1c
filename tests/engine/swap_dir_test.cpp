// Swap directories: a run's own, and the cleanup of those a killed run left behind.
#include "engine/offload/swap_dir.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <fstream>

#include "common/error.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::offload {
namespace {

namespace fs = std::filesystem;

std::string host() {
  char buf[HOST_NAME_MAX + 1] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}


pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(SwapDir, RemovesOnlyDirectoriesOfProcessesThatAreGone) {
  test::ScratchDir dir("swapdir");
  const fs::path stale = dir.path() / ("ds-swap-" + host() + "-" + std::to_string(dead_pid()) + "-rank0-group0");
  const fs::path alive = dir.path() / ("ds-swap-" + host() + "-" + std::to_string(::getppid()) + "-rank1-group0");
  const fs::path elsewhere = dir.path() / "ds-swap-another-host-1-rank0-group0";
  const fs::path unrelated = dir.path() / "my-data";
  for (const auto& d : {stale, alive, elsewhere, unrelated}) {
    fs::create_directories(d);
    std::ofstream(d / "exp_avg.swp") << "x";
  }
  {
    SwapDir mine(dir.path(), "rank0-group0", "zero_optimization.offload_optimizer.nvme_path");
    EXPECT_TRUE(fs::is_directory(mine.path()));
    EXPECT_NE(mine.path().filename().string().find(std::to_string(::getpid())), std::string::npos);
    EXPECT_FALSE(fs::exists(stale)) << "a killed run's swap files are removed by the next run";
    EXPECT_TRUE(fs::exists(alive));
    EXPECT_TRUE(fs::exists(elsewhere));
    EXPECT_TRUE(fs::exists(unrelated));
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 3) << "its own is gone";
  try {
    SwapDir bad(dir.path() / "missing", "rank0", "zero_optimization.offload_optimizer.nvme_path");
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("zero_optimization.offload_optimizer.nvme_path"), std::string::npos);
  }
}

}  // namespace
}  // namespace ds::engine::offload
