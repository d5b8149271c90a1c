#include "common/peak_counter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ds {
namespace {

TEST(PeakCounter, TracksLiveBytesAndTheirHighWaterMark) {
  PeakCounter c;
  c.add(100);
  c.add(50);
  c.sub(120);
  EXPECT_EQ(c.current(), 30);
  EXPECT_EQ(c.peak(), 150);
  c.reset_peak();
  EXPECT_EQ(c.peak(), 30);
  c.add(10);
  EXPECT_EQ(c.peak(), 40);
}

TEST(PeakCounter, ThreadsAddingAtOnceLoseNothing) {
  PeakCounter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.current(), 40000);
  EXPECT_EQ(c.peak(), 40000);
}

}  // namespace
}  // namespace ds
