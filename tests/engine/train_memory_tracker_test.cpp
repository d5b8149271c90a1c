#include "engine/train/memory_tracker.hpp"

#include <ATen/Parallel.h>
#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/model/causal_lm.hpp"
#include "tests/engine/lm_checkpoint_util.hpp"

namespace ds::engine::train {
namespace {

const torch::Device kCpu(torch::kCPU);

std::int64_t live() { return MemoryTracker::current_bytes(kCpu); }

/// A tensor whose storage comes from LibTorch's own CPU allocator, as every tensor made before
/// install() does.
torch::Tensor untracked_floats(std::int64_t n) {
  c10::Storage storage(c10::Storage::use_byte_size_t(), n * 4, c10::GetDefaultCPUAllocator(), /*resizable=*/true);
  return torch::empty({0}, torch::kFloat).set_(storage, 0, {n}, {1});
}

std::int64_t param_bytes(torch::nn::Module& m) {
  std::int64_t bytes = 0;
  for (const auto& p : m.parameters()) bytes += p.numel() * static_cast<std::int64_t>(p.element_size());
  return bytes;
}

class MemoryTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // In a fresh process (ctest runs each test alone) this checks the real order of events: a
    // tensor made before install() is freed through its own allocator, leaving the counts alone.
    if (!MemoryTracker::installed()) {
      torch::Tensor early = torch::ones({1000});
      MemoryTracker::install();
      const std::int64_t base = live();
      early = torch::Tensor();
      EXPECT_EQ(live(), base);
    }
    MemoryTracker::install();  // idempotent
    ASSERT_TRUE(MemoryTracker::installed());
  }
};

TEST_F(MemoryTrackerTest, CountsExactBytesOfAllocationAndFree) {
  const std::int64_t base = live();
  {
    torch::Tensor a = torch::empty({1000}, torch::kFloat);
    EXPECT_EQ(live() - base, 4000);
    torch::Tensor b = torch::zeros({3, 7}, torch::kDouble);
    EXPECT_EQ(live() - base, 4000 + 21 * 8);
    torch::Tensor c = torch::empty({0});
    EXPECT_EQ(live() - base, 4000 + 21 * 8);
  }
  EXPECT_EQ(live(), base);
}

TEST_F(MemoryTrackerTest, PeakRemembersATemporaryUntilReset) {
  const std::int64_t base = live();
  MemoryTracker::reset_peak(kCpu);
  EXPECT_EQ(MemoryTracker::peak_bytes(kCpu), base);
  torch::Tensor kept = torch::empty({1000});
  { torch::Tensor temporary = torch::empty({2000}); }
  EXPECT_EQ(live() - base, 4000);
  EXPECT_EQ(MemoryTracker::peak_bytes(kCpu) - base, 12000);
  MemoryTracker::reset_peak(kCpu);
  EXPECT_EQ(MemoryTracker::peak_bytes(kCpu) - base, 4000);
}

TEST_F(MemoryTrackerTest, ViewsShareTheirBaseStorage) {
  const std::int64_t base = live();
  torch::Tensor t = torch::empty({100, 10});
  torch::Tensor v = t.view({1000});
  torch::Tensor n = t.narrow(0, 10, 5);
  torch::Tensor tr = t.t();
  torch::Tensor alias = t;
  EXPECT_EQ(live() - base, 4000);
  t = torch::Tensor();
  EXPECT_EQ(live() - base, 4000);  // the views keep the storage alive
  v = n = tr = alias = torch::Tensor();
  EXPECT_EQ(live(), base);
}

TEST_F(MemoryTrackerTest, TensorsFromTheWrappedAllocatorAreNotCounted) {
  const std::int64_t base = live();
  torch::Tensor t = untracked_floats(500);
  EXPECT_EQ(live(), base);
  t.resize_({5000});  // resizing reallocates through the storage's own allocator
  EXPECT_EQ(live(), base);
  torch::Tensor copy = t.clone();  // a new storage: counted
  EXPECT_EQ(live() - base, 20000);
  t = torch::Tensor();
  copy = torch::Tensor();
  EXPECT_EQ(live(), base);
}

TEST_F(MemoryTrackerTest, ConcurrentAllocationsKeepCountsConsistent) {
  const std::int64_t base = live();
  constexpr int kThreads = 4, kKept = 50;
  std::vector<std::vector<torch::Tensor>> kept(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &kept] {
      for (int i = 0; i < 2000; ++i) torch::empty({1 + (i * 7 + t) % 300});  // freed at once
      for (int i = 0; i < kKept; ++i) kept[t].push_back(torch::empty({(t + 1) * 10 + i}, torch::kByte));
    });
  }
  for (auto& th : threads) th.join();
  std::int64_t expected = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kKept; ++i) expected += (t + 1) * 10 + i;
  }
  EXPECT_EQ(live() - base, expected);
  EXPECT_GE(MemoryTracker::peak_bytes(kCpu) - base, expected);

  // LibTorch's own worker threads: allocations inside parallel_for.
  std::atomic<std::int64_t> made{0};
  at::parallel_for(0, 64, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      torch::Tensor x = torch::randn({256});
      made += x.numel();
    }
  });
  EXPECT_EQ(made.load(), 64 * 256);
  kept.clear();
  EXPECT_EQ(live(), base);
}

// bf16 matmuls may run in oneDNN, whose scratch buffers come through the allocator's raw
// interface (raw_allocate / raw_deallocate): they must balance too.
TEST_F(MemoryTrackerTest, Bf16MatmulLeavesCountsBalanced) {
  const std::int64_t base = live();
  {
    torch::Tensor a = torch::randn({256, 256}).to(torch::kBFloat16);
    torch::Tensor b = torch::randn({256, 256}).to(torch::kBFloat16);
    torch::Tensor c = torch::nn::functional::linear(a, b);
    EXPECT_EQ(live() - base, 3 * 256 * 256 * 2);
  }
  EXPECT_EQ(live(), base);
  ASSERT_NE(c10::GetAllocator(c10::DeviceType::CPU)->raw_deleter(), nullptr);
  void* p = c10::GetAllocator(c10::DeviceType::CPU)->raw_allocate(1000);
  EXPECT_EQ(live() - base, 1000);
  c10::GetAllocator(c10::DeviceType::CPU)->raw_deallocate(p);
  EXPECT_EQ(live(), base);
}

TEST_F(MemoryTrackerTest, ForwardAndBackwardOfATinyModel) {
  MemoryCategories categories(kCpu);
  const std::int64_t base = live();
  auto model = model::build_model(test::tiny_spec());
  const std::int64_t params = param_bytes(*model);
  EXPECT_EQ(live() - base, params);  // the model holds exactly its parameters
  categories.record("params");
  EXPECT_EQ(categories.bytes("params"), params);

  torch::Tensor ids = torch::randint(512, {2, 65}, torch::kLong);
  categories.record("inputs");
  MemoryTracker::reset_peak(kCpu);
  torch::Tensor loss = model::next_token_loss(model->forward(ids.narrow(1, 0, 64)), ids.narrow(1, 1, 64));
  loss.backward();
  const std::int64_t peak = MemoryTracker::peak_bytes(kCpu) - base;
  EXPECT_GT(peak, params + params);  // parameters + their gradients + activations
  categories.record("gradients");
  categories.record_peak("activations");
  EXPECT_GT(categories.bytes("activations"), 0);
  EXPECT_GE(categories.bytes("gradients"), params);  // gradients (plus the loss and a few scalars)
  EXPECT_LT(categories.bytes("gradients"), params + 4096);
  EXPECT_EQ(categories.bytes("inputs"), 2 * 65 * 8);
  EXPECT_EQ(categories.bytes("never"), 0);
  auto j = categories.to_json();
  EXPECT_EQ(j.begin().key(), "params");
  EXPECT_EQ(j["params"], params);
  ASSERT_EQ(categories.categories().size(), 4u);
  EXPECT_EQ(categories.categories()[3].first, "activations");
  EXPECT_EQ(categories.bytes("activations"), MemoryTracker::peak_bytes(kCpu) - live());
}

TEST_F(MemoryTrackerTest, UnsupportedDevicesAreUsageErrors) {
  try {
    MemoryTracker::current_bytes(torch::Device(torch::kMeta));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "memory tracker: cannot measure this device (got meta); expected cpu, or cuda in a CUDA "
                           "build of ds");
  }
#ifndef DS_TORCH_CUDA
  EXPECT_THROW(MemoryTracker::peak_bytes(torch::Device(torch::kCUDA, 0)), UsageError);
#else
  if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA build without a GPU";
  const torch::Device gpu(torch::kCUDA, 0);
  const std::int64_t base = MemoryTracker::current_bytes(gpu);
  torch::Tensor t = torch::empty({1 << 20}, torch::TensorOptions().device(gpu));
  EXPECT_EQ(MemoryTracker::current_bytes(gpu) - base, 4 << 20);  // the caching allocator rounds to 512 B
  MemoryTracker::reset_peak(gpu);
  EXPECT_EQ(MemoryTracker::peak_bytes(gpu), MemoryTracker::current_bytes(gpu));
#endif
}

}  // namespace
}  // namespace ds::engine::train
