// The NVMe tier's files: O_DIRECT through io_uring (several rings at once), the page-cache
// fallback, and the errors for bad paths and aio settings.
#include "engine/offload/swap_file.hpp"

#include <gtest/gtest.h>

#include <iostream>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::offload {
namespace {

namespace fs = std::filesystem;

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

}  // namespace
}  // namespace ds::engine::offload
