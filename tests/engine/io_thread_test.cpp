// The NVMe tier's I/O thread: jobs run one at a time in submission order, a job's exception
// reaches its future, and the jobs queued when it goes still run.
#include "engine/offload/io_thread.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace ds::engine::offload {
namespace {

TEST(IoThread, RunsJobsInSubmissionOrder) {
  std::vector<int> order;
  std::vector<std::future<void>> done;
  {
    IoThread io;
    for (int i = 0; i < 50; ++i) done.push_back(io.submit([&order, i] { order.push_back(i); }));
    done.back().get();
    ASSERT_EQ(order.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  }
}

TEST(IoThread, AJobsExceptionLandsInItsFuture) {
  IoThread io;
  std::future<void> failed = io.submit([] { throw std::runtime_error("short read"); });
  std::future<void> next = io.submit([] {});
  EXPECT_THROW(failed.get(), std::runtime_error);
  EXPECT_NO_THROW(next.get()) << "the thread goes on after a failed job";
}

TEST(IoThread, FinishesQueuedJobsBeforeItGoes) {
  std::atomic<int> ran = 0;
  {
    IoThread io;
    for (int i = 0; i < 20; ++i) io.submit([&ran] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 20);
}

}  // namespace
}  // namespace ds::engine::offload
