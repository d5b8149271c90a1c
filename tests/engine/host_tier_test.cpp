// ZeRO-Offload on one process: the offload tier's host buffers (engine/offload/host_tier), the
// optimizer with offloaded states (the SIMD CPU Adam kernel), and the mixed-precision optimizer
// with its master, gradients and states in the tier, against the same run without offload.
#include <gtest/gtest.h>

#include <cstdint>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "engine/train/memory_tracker.hpp"
#include "engine/train/mixed_precision.hpp"
#include "engine/train/optimizer.hpp"
#include "tests/engine/small_mlp_util.hpp"

namespace ds::engine::offload {
namespace {

using train::MixedPrecisionOptimizer;
using train::MixedPrecisionOptions;
using train::NamedTensor;
using train::Optimizer;
using train::OptimizerOptions;
using train::Precision;
using train::UpdateRule;

TEST(HostTier, ZeroedAlignedCountedAndReleased) {
  train::MemoryTracker::install();
  const std::int64_t before = HostTier::current_bytes();
  const std::int64_t device_before = train::MemoryTracker::current_bytes(torch::kCPU);
  {
    torch::Tensor t = HostTier::zeros(1001, torch::kCPU);
    EXPECT_EQ(t.numel(), 1001);
    EXPECT_EQ(t.scalar_type(), torch::kFloat);
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 64, 0u);
    EXPECT_EQ(t.abs().sum().item<float>(), 0.0f);
    EXPECT_EQ(HostTier::current_bytes() - before, 1001 * 4);
    EXPECT_GE(HostTier::peak_bytes(), HostTier::current_bytes());
    // Not the compute device's memory: the CPU counting allocator never saw it.
    EXPECT_EQ(train::MemoryTracker::current_bytes(torch::kCPU), device_before);
    torch::Tensor view = t.narrow(0, 10, 5);
    t = torch::Tensor();
    EXPECT_EQ(HostTier::current_bytes() - before, 1001 * 4) << "a view keeps the buffer alive";
  }
  EXPECT_EQ(HostTier::current_bytes(), before);
  HostTier::reset_peak();
  EXPECT_EQ(HostTier::peak_bytes(), before);
  EXPECT_EQ(HostTier::zeros(0, torch::kCPU).numel(), 0);
  EXPECT_THROW(HostTier::zeros(-1, torch::kCPU), RuntimeError);
}

// Offloaded Adam/AdamW (the CPU kernel) against the optimizer's own CPU loop over many steps:
// both are torch 1.13's float formulas in the same order, so they agree to rounding (1e-6
// relative after 50 steps; a different bias correction or decay style is off by far more).
TEST(OffloadOptimizer, CpuKernelMatchesTheOnDeviceUpdate) {
  for (UpdateRule rule : {UpdateRule::kAdamW, UpdateRule::kAdam}) {
    for (bool bias_correction : {true, false}) {
      OptimizerOptions options{.rule = rule, .weight_decay = 0.05, .bias_correction = bias_correction};
      torch::manual_seed(3);
      torch::Tensor start = torch::randn({4099});
      torch::Tensor host_params = HostTier::zeros(start.numel(), torch::kCPU);
      host_params.copy_(start);
      Optimizer offloaded(options), plain(options);
      const std::int64_t before = HostTier::current_bytes();
      offloaded.offload_states([](std::int64_t n) { return HostTier::zeros(n, torch::kCPU); });
      EXPECT_TRUE(offloaded.offloaded());
      EXPECT_FALSE(plain.offloaded());
      offloaded.add_group(host_params, 0.02);  // a group's own weight decay
      EXPECT_EQ(HostTier::current_bytes() - before, 2 * 4099 * 4) << "exp_avg and exp_avg_sq in the tier";
      torch::Tensor reference = start.clone();
      plain.add_group(reference, 0.02);
      for (int step = 0; step < 50; ++step) {
        torch::Tensor grad = torch::randn({4099});
        offloaded.step({grad}, 1e-2);
        plain.step({grad}, 1e-2);
      }
      EXPECT_LT(((host_params - reference).abs() / reference.abs().clamp_min(1e-3)).max().item<double>(), 1e-6)
          << to_string(rule) << " bias_correction " << bias_correction;
      EXPECT_EQ(offloaded.step_count(0), 50);
    }
  }
}

TEST(OffloadOptimizer, OffloadToHostPutsTheStatesInTheTier) {
  Optimizer opt(OptimizerOptions{});
  train::offload_to_host(opt, torch::kCPU, std::nullopt);
  EXPECT_TRUE(opt.offloaded());
  EXPECT_FALSE(opt.swapped());
  torch::Tensor params = HostTier::zeros(1000, torch::kCPU);
  const std::int64_t before = HostTier::current_bytes();
  opt.add_group(params);
  EXPECT_EQ(HostTier::current_bytes() - before, 2 * 1000 * 4) << "exp_avg and exp_avg_sq";
}

TEST(OffloadOptimizer, StatesMustBeOffloadedBeforeTheFirstGroup) {
  Optimizer opt(OptimizerOptions{});
  opt.add_group(torch::zeros({4}));
  EXPECT_THROW(opt.offload_states([](std::int64_t n) { return torch::zeros({n}); }), RuntimeError);
}

// The same model trained with and without offload: the offloaded run keeps an fp32 master, fp32
// gradients and both Adam states in the tier (16 bytes per parameter) and nothing of them on
// the device, and its weights follow the plain run's (fp32: 1e-6 relative; bf16: the model is
// rounded from equal masters, so equal up to one bf16 rounding step of a differing master).
TEST(OffloadMixedPrecision, TrainsAsWithoutOffloadWithItsStatesInTheTier) {
  for (Precision precision : {Precision::kFp32, Precision::kBf16}) {
    auto plain_model = test::small_mlp(5), offloaded_model = test::small_mlp(5);
    const std::int64_t n = 8 * 16 + 16 + 16 * 4 + 4;
    OptimizerOptions adamw{.rule = UpdateRule::kAdamW, .weight_decay = 0.01};
    MixedPrecisionOptimizer plain({{test::named_params(plain_model), std::nullopt}}, adamw,
                                  MixedPrecisionOptions{.precision = precision, .gradient_clipping = 0.3});
    const std::int64_t before = HostTier::current_bytes();
    MixedPrecisionOptimizer offloaded(
        {{test::named_params(offloaded_model), std::nullopt}}, adamw,
        MixedPrecisionOptions{.precision = precision, .gradient_clipping = 0.3, .offload_optimizer = true});
    EXPECT_EQ(HostTier::current_bytes() - before, 16 * n) << to_string(precision);
    EXPECT_TRUE(offloaded.optimizer().offloaded());
    torch::manual_seed(9);
    for (int step = 0; step < 6; ++step) {
      torch::Tensor x = torch::randn({32, 8}), y = torch::randn({32, 4});
      for (auto* pair : {&plain_model, &offloaded_model}) {
        auto& model = *pair;
        torch::Tensor out = model->forward(x.to(model->parameters()[0].scalar_type())).to(torch::kFloat);
        torch::mse_loss(out, y).backward();
      }
      auto a = plain.step(1e-2), b = offloaded.step(1e-2);
      EXPECT_NEAR(a.grad_norm, b.grad_norm, 1e-6 * a.grad_norm) << step;
    }
    auto a = plain_model->parameters(), b = offloaded_model->parameters();
    const double tolerance = precision == Precision::kFp32 ? 1e-6 : 8e-3;
    for (std::size_t i = 0; i < a.size(); ++i) {
      auto x = a[i].detach().to(torch::kDouble), y = b[i].detach().to(torch::kDouble);
      EXPECT_LT(((x - y).abs() / x.abs().clamp_min(1e-2)).max().item<double>(), tolerance) << to_string(precision) << " " << i;
    }
    // Checkpoints carry the offloaded master, so a resumed run continues from the exact values.
    bool has_master = false;
    for (const auto& [name, t] : offloaded.optimizer_state_tensors()) has_master = has_master || name == "group0.master";
    EXPECT_TRUE(has_master);
  }
}

}  // namespace
}  // namespace ds::engine::offload
