// ZeRO-Infinity's NVMe tier: swap files (O_DIRECT through io_uring), their directories and the
// cleanup of ones a killed run left, the sub-group stream of swapped optimizer states, and the
// optimizer with Adam's states on NVMe against the same optimizer with them in host memory.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <fstream>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "engine/offload/swap_dir.hpp"
#include "engine/offload/swap_file.hpp"
#include "engine/offload/swapped_states.hpp"
#include "engine/train/optimizer.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::offload {
namespace {

namespace fs = std::filesystem;

std::string host() {
  char buf[HOST_NAME_MAX + 1] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

torch::Tensor aligned_buffer(std::int64_t n) { return HostTier::zeros(n, torch::kCPU, kDirectAlignment); }

TEST(SwapFile, RoundTripsBlocksThroughSeveralRings) {
  test::ScratchDir dir("swapfile");
  configs::AioConfig aio;
  aio.block_size = 8192;  // many requests per transfer
  aio.queue_depth = 2;
  aio.thread_count = 2;
  const std::int64_t n = 10 * 1024;  // 40 KiB
  const std::int64_t before = SwapFile::live_bytes();
  {
    SwapFile file(dir.path() / "a.swp", n * 4 - 100, aio);  // rounded up to whole blocks
    EXPECT_EQ(file.size(), n * 4);
    EXPECT_EQ(SwapFile::live_bytes() - before, n * 4);
    EXPECT_EQ(fs::file_size(dir.path() / "a.swp"), static_cast<std::uintmax_t>(n * 4));
    std::cout << "[ info     ] O_DIRECT " << file.direct() << ", io_uring " << file.uring() << "\n";
    torch::Tensor out = aligned_buffer(n), in = aligned_buffer(n);
    out.copy_(torch::arange(n, torch::kFloat));
    file.write(0, out.data_ptr(), n * 4);
    file.read(4096, in.data_ptr(), n * 4 - 4096);
    EXPECT_TRUE(in.narrow(0, 0, n - 1024).equal(out.narrow(0, 1024, n - 1024)));
    // A fresh file reads as zeros.
    SwapFile fresh(dir.path() / "b.swp", 4096, aio);
    fresh.read(0, in.data_ptr(), 4096);
    EXPECT_EQ(in.narrow(0, 0, 1024).abs().sum().item<float>(), 0.0f);
    // O_DIRECT's rules are checked before the kernel is asked.
    EXPECT_THROW(file.read(100, in.data_ptr(), 4096), RuntimeError);
    EXPECT_THROW(file.read(0, static_cast<char*>(in.data_ptr()) + 4, 4096), RuntimeError);
    EXPECT_THROW(file.read(0, in.data_ptr(), n * 4 + 4096), RuntimeError);
  }
  EXPECT_FALSE(fs::exists(dir.path() / "a.swp"));
  EXPECT_EQ(SwapFile::live_bytes(), before);
}

TEST(SwapFile, SizesRoundUpToWholeDirectBlocks) {
  EXPECT_EQ(direct_round_up(0), 0);
  EXPECT_EQ(direct_round_up(1), 4096);
  EXPECT_EQ(direct_round_up(4096), 4096);
  EXPECT_EQ(direct_round_up(4097), 8192);
}

TEST(SwapFile, BadPathsAndAioSettingsNameWhatIsWrong) {
  configs::AioConfig aio;
  try {
    SwapFile file("/nonexistent-dir/x.swp", 4096, aio);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.swp"), std::string::npos) << e.what();
  }
  aio.block_size = 1000;
  EXPECT_THROW(SwapFile("/tmp/x.swp", 4096, aio), ConfigError);
}

// Through the page cache (where O_DIRECT is refused, as on tmpfs before Linux 6.6): the same
// transfers work. And on tmpfs itself, whichever way its kernel answers.
TEST(SwapFile, WorksThroughThePageCacheToo) {
  test::ScratchDir dir("swapfile-cached");
  SwapFile cached(dir.path() / "c.swp", 8192, configs::AioConfig{}, /*direct=*/false);
  EXPECT_FALSE(cached.direct());
  torch::Tensor out = aligned_buffer(2048), in = aligned_buffer(2048);
  out.fill_(3.5f);
  cached.write(0, out.data_ptr(), 8192);
  cached.read(0, in.data_ptr(), 8192);
  EXPECT_TRUE(in.equal(out));
  if (fs::is_directory("/dev/shm")) {
    SwapFile shm(fs::path("/dev/shm") / ("ds-swapfile-test-" + std::to_string(::getpid())), 8192, configs::AioConfig{});
    std::cout << "[ info     ] /dev/shm O_DIRECT " << shm.direct() << "\n";
    in.zero_();
    shm.write(0, out.data_ptr(), 8192);
    shm.read(0, in.data_ptr(), 8192);
    EXPECT_TRUE(in.equal(out));
  }
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

NvmeOptions nvme_options(const fs::path& dir, std::int64_t sub_group) {
  NvmeOptions o;
  o.nvme_path = dir;
  o.sub_group_size = sub_group;
  return o;
}

TEST(SwappedStates, StreamsEverySubGroupAndKeepsWhatWasWritten) {
  test::ScratchDir dir("swapped");
  const std::int64_t n = 5000;
  SwappedStates states(nvme_options(dir.path(), 2000), n, {"a", "b"});
  EXPECT_EQ(states.sub_group_count(), 3);  // 2048, 2048, 904
  EXPECT_EQ(states.buffer_sets(), 2);
  for (int pass = 1; pass <= 3; ++pass) {
    std::int64_t next = 0;
    states.for_each_sub_group([&](std::int64_t offset, std::int64_t len, float* const* s) {
      EXPECT_EQ(offset, next);
      next += len;
      for (std::int64_t i = 0; i < len; ++i) {
        // What the previous pass left must be back.
        ASSERT_EQ(s[0][i], pass == 1 ? 0.0f : static_cast<float>(offset + i) * (pass - 1));
        ASSERT_EQ(s[1][i], static_cast<float>(-(pass - 1)));
        s[0][i] = static_cast<float>(offset + i) * pass;
        s[1][i] = static_cast<float>(-pass);
      }
    });
    EXPECT_EQ(next, n);
  }
  EXPECT_TRUE(states.read_all(0).equal(torch::arange(n, torch::kFloat) * 3));
  states.write_all(1, torch::full({n}, 7.0f));
  EXPECT_TRUE(states.read_all(1).equal(torch::full({n}, 7.0f)));
  EXPECT_TRUE(states.read_all(0).equal(torch::arange(n, torch::kFloat) * 3)) << "the other state is untouched";
  EXPECT_THROW(states.write_all(0, torch::zeros({n + 1})), RuntimeError);
  // An error in the update reaches the caller, and the stream stays usable.
  EXPECT_THROW(states.for_each_sub_group([](std::int64_t, std::int64_t, float* const*) { throw RuntimeError("boom"); }),
               RuntimeError);
  EXPECT_TRUE(states.read_all(1).equal(torch::full({n}, 7.0f)));
}

TEST(SwappedStates, BufferCountMustCoverTheStates) {
  test::ScratchDir dir("swapped-bad");
  NvmeOptions o = nvme_options(dir.path(), 1000);
  o.buffer_count = 1;
  EXPECT_THROW(SwappedStates(o, 100, {"exp_avg", "exp_avg_sq"}), ConfigError);
}

// The same Adam over 40 steps with its states in host memory and on NVMe, in sub-groups that
// do not divide the group: the kernel sees the same numbers, so the results are bit-identical.
TEST(NvmeOptimizer, SwappedAdamEqualsOffloadedAdamBitForBit) {
  test::ScratchDir dir("nvme-adam");
  train::OptimizerOptions options{.rule = train::UpdateRule::kAdamW, .weight_decay = 0.01};
  auto host = [](std::int64_t n) { return HostTier::zeros(n, torch::kCPU); };
  train::Optimizer in_memory(options), swapped(options);
  in_memory.offload_states(host);
  swapped.offload_states(host);
  swapped.swap_states_to_nvme(nvme_options(dir.path(), 3000));
  EXPECT_TRUE(swapped.swapped());
  torch::manual_seed(1);
  torch::Tensor start = torch::randn({10000});
  torch::Tensor a = host(10000), b = host(10000);
  a.copy_(start);
  b.copy_(start);
  in_memory.add_group(a);
  swapped.add_group(b);
  for (int step = 0; step < 40; ++step) {
    torch::Tensor grad = torch::randn({10000});
    in_memory.step({grad}, 1e-2);
    swapped.step({grad}, 1e-2);
  }
  EXPECT_TRUE(a.equal(b));
  auto mine = swapped.state_tensors(), theirs = in_memory.state_tensors();
  ASSERT_EQ(mine.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(mine[i].first, theirs[i].first);
    EXPECT_TRUE(mine[i].second.equal(theirs[i].second)) << mine[i].first;
  }
  EXPECT_EQ(swapped.state_names(), (std::vector<std::string>{"group0.exp_avg", "group0.exp_avg_sq"}));
  // load_state writes swapped states back to their files.
  swapped.load_state(swapped.state_meta(), {{"group0.exp_avg", torch::ones({10000})}, {"group0.exp_avg_sq", torch::ones({10000})}},
                     "test");
  EXPECT_TRUE(swapped.state_tensors()[0].second.equal(torch::ones({10000})));
  // SGD has no NVMe path; nor does a group outside host memory.
  train::Optimizer sgd(train::OptimizerOptions{.rule = train::UpdateRule::kSgd});
  sgd.offload_states(host);
  EXPECT_THROW(sgd.swap_states_to_nvme(nvme_options(dir.path(), 3000)), ConfigError);
  train::Optimizer not_offloaded(options);
  EXPECT_THROW(not_offloaded.swap_states_to_nvme(nvme_options(dir.path(), 3000)), RuntimeError);
}

}  // namespace
}  // namespace ds::engine::offload
