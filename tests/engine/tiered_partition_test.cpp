// A ZeRO partition split between the device and the offload tier behaves as one tensor.
#include "engine/zero/tiered_partition.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"

namespace ds::engine::zero {
namespace {

torch::Tensor iota(std::int64_t n, double start = 1) {
  return torch::arange(start, start + static_cast<double>(n), torch::kFloat);
}

TEST(TieredPartition, SplitsElementsBetweenTheDeviceAndTheOffloadTier) {
  const std::int64_t before = offload::HostTier::current_bytes();
  TieredPartition p(10, 4, torch::kCPU);
  EXPECT_EQ(p.numel(), 10);
  EXPECT_EQ(p.on_device(), 4);
  EXPECT_EQ(p.device_part().numel(), 4);
  EXPECT_EQ(p.host_part().numel(), 6);
  // The offloaded six fp32 elements come from the offload tier's own buffers.
  EXPECT_GE(offload::HostTier::current_bytes() - before, 6 * 4);
  EXPECT_EQ(p.whole().sum().item<float>(), 0.0f);
}

TEST(TieredPartition, WritesReadsAndAddsAcrossTheSplit) {
  TieredPartition p(10, 4, torch::kCPU);
  p.write(0, iota(10));
  EXPECT_TRUE(torch::equal(p.whole(), iota(10)));
  EXPECT_TRUE(torch::equal(p.device_part(), iota(4)));
  EXPECT_TRUE(torch::equal(p.host_part(), iota(6, 5)));
  // A range across the split is a copy; within one tier, a view of it.
  EXPECT_TRUE(torch::equal(p.read(2, 5), iota(5, 3)));
  torch::Tensor view = p.read(5, 3);
  view.fill_(0);
  EXPECT_EQ(p.host_part()[1].item<float>(), 0.0f);
  p.write(5, iota(3, 6));
  p.add(3, torch::ones({3}));
  EXPECT_TRUE(torch::equal(p.read(3, 3), torch::tensor({5.0f, 6.0f, 7.0f})));
  torch::Tensor out = torch::zeros({4}, torch::kDouble);
  p.copy_into(2, out);
  EXPECT_TRUE(torch::equal(out, torch::tensor({3.0, 5.0, 6.0, 7.0}, torch::kDouble)));
}

TEST(TieredPartition, ScalesZeroesAndTakesTheNormOfBothTiers) {
  TieredPartition p(10, 4, torch::kCPU);
  p.write(0, iota(10));
  // 1^2 + ... + 10^2 = 385 (each tier's norm is taken in fp32, then squared in double).
  EXPECT_NEAR(p.squared_norm(torch::kCPU).item<double>(), 385.0, 1e-4);
  p.scale(2);
  EXPECT_NEAR(p.squared_norm(torch::kCPU).item<double>(), 4 * 385.0, 4e-4);
  p.zero();
  EXPECT_EQ(p.squared_norm(torch::kCPU).item<double>(), 0.0);
}

TEST(TieredPartition, OneTierIsThePlainTensor) {
  TieredPartition device(8, 8, torch::kCPU), host(8, 0, torch::kCPU);
  EXPECT_EQ(device.host_part().numel(), 0);
  EXPECT_EQ(host.device_part().numel(), 0);
  device.write(0, iota(8));
  // Whole, it is the tensor itself, not a copy: writing through it writes the partition.
  device.whole().fill_(3);
  EXPECT_EQ(device.device_part().sum().item<float>(), 24.0f);
  host.write(0, iota(8));
  EXPECT_TRUE(torch::equal(host.whole(), iota(8)));
  EXPECT_NEAR(host.squared_norm(torch::kCPU).item<double>(), 204.0, 1e-4);
}

TEST(TieredPartition, RefusesRangesOutsideIt) {
  TieredPartition p(10, 4, torch::kCPU);
  EXPECT_THROW(p.write(8, iota(3)), RuntimeError);
  EXPECT_THROW(p.add(-1, iota(2)), RuntimeError);
  EXPECT_THROW(TieredPartition(4, 5, torch::kCPU), RuntimeError);
}

}  // namespace
}  // namespace ds::engine::zero
