// Optimizer states on NVMe: the sub-group stream, and the optimizer with Adam's states swapped
// against the same optimizer with them in host memory.
#include "engine/offload/swapped_states.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "engine/train/optimizer.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::offload {
namespace {

namespace fs = std::filesystem;

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
