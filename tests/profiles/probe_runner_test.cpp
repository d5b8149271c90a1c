#include "profiles/probes/probes.hpp"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/scoped_env.hpp"

namespace ds::profiles {
namespace {

// Restores LibTorch's intra-op thread count after a test changes it.
struct TorchThreadsGuard {
  int saved = torch::get_num_threads();
  ~TorchThreadsGuard() { torch::set_num_threads(saved); }
};

}  // namespace

TEST(ProbeRunner, TimeRepeatedRunsWarmupPlusRepeats) {
  int calls = 0;
  auto t = time_repeated(2, 3, [&] { ++calls; });
  EXPECT_EQ(calls, 5);
  ASSERT_EQ(t.size(), 3u);
  for (double s : t) EXPECT_GE(s, 0.0);
}

TEST(ProbeRunner, TimeRepeatedWarmsUpFirstAndTimesEachRunOnce) {
  std::vector<int> order;
  int next = 0;
  auto t = time_repeated(1, 2, [&] { order.push_back(next++); });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  ASSERT_EQ(t.size(), 2u);
  for (double s : t) EXPECT_TRUE(std::isfinite(s) && s >= 0.0) << s;

  int warm_only = 0;
  EXPECT_TRUE(time_repeated(3, 0, [&] { ++warm_only; }).empty());
  EXPECT_EQ(warm_only, 3);
  int timed_only = 0;
  EXPECT_EQ(time_repeated(0, 4, [&] { ++timed_only; }).size(), 4u);
  EXPECT_EQ(timed_only, 4);
}

TEST(ProbeRunner, UseAllCoresSetsTorchThreads) {
  TorchThreadsGuard guard;
  test::ScopedEnv unset("OMP_NUM_THREADS", nullptr);
  torch::set_num_threads(1);
  use_all_cores();
  EXPECT_EQ(torch::get_num_threads(), static_cast<int>(std::thread::hardware_concurrency()));
}

TEST(ProbeRunner, UseAllCoresLeavesThreadsAloneWhenOmpNumThreadsIsSet) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: every thread count is 'all cores'";
  TorchThreadsGuard guard;
  test::ScopedEnv pinned("OMP_NUM_THREADS", "1");
  torch::set_num_threads(1);
  use_all_cores();
  EXPECT_EQ(torch::get_num_threads(), 1) << "the user's OMP_NUM_THREADS wins";
}

}  // namespace ds::profiles
