#include "engine/train/mixed_precision.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/engine/small_mlp_util.hpp"

namespace ds::engine::train {
namespace {

torch::Tensor loss_of(torch::nn::Sequential& model, const torch::Tensor& x, const torch::Tensor& y) {
  return torch::mse_loss(model->forward(x.to(model->parameters()[0].scalar_type())).to(torch::kFloat), y);
}

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = a.detach().to(torch::kDouble), y = b.detach().to(torch::kDouble);
  return ((x - y).abs() / y.abs().clamp_min(1.0)).max().item<double>();
}

// fp32: the wrapper (flat buffers, clipping, AdamW) against torch::optim::AdamW with
// torch::nn::utils::clip_grad_norm_ on an identical model.
TEST(TrainMixedPrecision, Fp32MatchesTorchAdamWWithClipping) {
  auto ours = test::small_mlp(5), ref = test::small_mlp(5);
  MixedPrecisionOptimizer opt({{test::named_params(ours), std::nullopt}},
                              OptimizerOptions{.rule = UpdateRule::kAdamW, .weight_decay = 0.01},
                              MixedPrecisionOptions{.precision = Precision::kFp32, .gradient_clipping = 0.3});
  torch::optim::AdamW torch_opt(ref->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.01));
  // Every parameter now lives in the flat buffer.
  const auto* base = static_cast<const char*>(opt.fp32_grad(0).data_ptr());
  for (auto& p : ours->parameters()) {
    auto* g = static_cast<const char*>(p.grad().data_ptr());
    EXPECT_TRUE(g >= base && g < base + opt.fp32_grad(0).numel() * 4);
  }
  torch::manual_seed(9);
  for (int step = 0; step < 5; ++step) {
    torch::Tensor x = torch::randn({32, 8}), y = torch::randn({32, 4});
    loss_of(ours, x, y).backward();
    StepResult r = opt.step(1e-2);
    EXPECT_FALSE(r.skipped);
    torch_opt.zero_grad();
    loss_of(ref, x, y).backward();
    double norm = torch::nn::utils::clip_grad_norm_(ref->parameters(), 0.3);
    torch_opt.step();
    EXPECT_NEAR(r.grad_norm, norm, 1e-5 * norm) << "step " << step;
  }
  auto a = ours->parameters(), b = ref->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_LT(max_rel_diff(a[i], b[i]), 1e-5) << i;
}

TEST(TrainMixedPrecision, Bf16KeepsAnFp32MasterAndRoundsTheModel) {
  auto model = test::small_mlp(1);
  auto original = model->parameters()[0].detach().clone();
  MixedPrecisionOptimizer opt({{test::named_params(model), std::nullopt}}, OptimizerOptions{},
                              MixedPrecisionOptions{.precision = Precision::kBf16});
  for (auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
  auto master = opt.optimizer_state_tensors();
  auto it = std::find_if(master.begin(), master.end(), [](const auto& nt) { return nt.first == "group0.master"; });
  ASSERT_NE(it, master.end());
  // The master holds the exact fp32 values the model had before rounding.
  EXPECT_TRUE(torch::equal(it->second.narrow(0, 0, original.numel()).view(original.sizes()), original));

  torch::manual_seed(2);
  torch::Tensor x = torch::randn({16, 8}), y = torch::randn({16, 4});
  // Two micro-batches accumulated in fp32.
  loss_of(model, x, y).backward();
  torch::Tensor first = model->parameters()[0].grad().to(torch::kFloat).clone();
  opt.accumulate_grads();
  EXPECT_EQ(model->parameters()[0].grad().abs().sum().item<double>(), 0.0);
  loss_of(model, x * 2, y).backward();
  torch::Tensor second = model->parameters()[0].grad().to(torch::kFloat).clone();
  opt.accumulate_grads();
  torch::Tensor acc = opt.fp32_grad(0).narrow(0, 0, first.numel()).view(first.sizes());
  EXPECT_TRUE(torch::equal(acc, first + second));

  StepResult r = opt.step(1e-3);
  EXPECT_FALSE(r.skipped);
  auto state = opt.optimizer_state_tensors();
  torch::Tensor m = std::find_if(state.begin(), state.end(), [](const auto& nt) { return nt.first == "group0.master"; })->second;
  for (const auto& [name, p] : opt.model_state()) {
    (void)name;
    EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
  }
  // After the step the model is the master rounded to bf16.
  auto p0 = model->parameters()[0];
  EXPECT_TRUE(torch::equal(p0, m.narrow(0, 0, p0.numel()).view(p0.sizes()).to(torch::kBFloat16)));
  EXPECT_EQ(opt.fp32_grad(0).abs().sum().item<double>(), 0.0);  // gradients cleared
}

// LibTorch 1.13 has no fp16 matmul on CPU, so this test writes the (scaled) fp16 gradients
// itself, as backward of loss * loss_scale() would.
TEST(TrainMixedPrecision, Fp16OverflowSkipsTheStepAndHalvesTheScale) {
  auto model = test::small_mlp(4);
  configs::Fp16Config fp16{.enabled = true, .initial_scale_power = 4, .hysteresis = 1};
  MixedPrecisionOptimizer opt({{test::named_params(model), std::nullopt}}, OptimizerOptions{.rule = UpdateRule::kSgd},
                              MixedPrecisionOptions{.precision = Precision::kFp16, .fp16 = fp16});
  EXPECT_EQ(opt.loss_scale(), 16.0);
  for (auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kHalf);
  auto write_grads = [&](double scale) {
    torch::NoGradGuard g;
    torch::manual_seed(21);
    for (auto& p : model->parameters()) p.grad().copy_(torch::randn(p.sizes()) * scale);
  };
  auto before = model->parameters()[0].detach().clone();
  write_grads(opt.loss_scale());
  {
    torch::NoGradGuard g;
    model->parameters()[0].grad()[0][0] = std::numeric_limits<float>::infinity();
  }
  StepResult r = opt.step(0.1);
  EXPECT_TRUE(r.skipped);
  EXPECT_TRUE(std::isinf(r.grad_norm));
  EXPECT_EQ(r.loss_scale, 16.0);
  EXPECT_EQ(r.message, "fp16 overflow (inf/nan gradients): skipping step; loss scale 16 -> 8");
  EXPECT_TRUE(torch::equal(model->parameters()[0], before));
  EXPECT_EQ(opt.loss_scale(), 8.0);
  EXPECT_EQ(opt.fp32_grad(0).abs().sum().item<double>(), 0.0);  // the bad gradients are dropped

  // A clean step: the fp32 gradient is unscaled by 8 before the update (plain SGD: p -= lr * g).
  write_grads(opt.loss_scale());
  opt.accumulate_grads();
  torch::Tensor scaled = opt.fp32_grad(0).clone();
  auto master_before = opt.optimizer_state_tensors().back().second.clone();  // group0.master
  r = opt.step(0.1);
  EXPECT_FALSE(r.skipped);
  auto master_after = opt.optimizer_state_tensors().back().second;
  EXPECT_LT(max_rel_diff(master_after, master_before - 0.1 * (scaled / 8.0)), 1e-7);
  auto p0 = model->parameters()[0];
  EXPECT_TRUE(torch::equal(p0, master_after.narrow(0, 0, p0.numel()).view(p0.sizes()).to(torch::kHalf)));
}

TEST(TrainMixedPrecision, Bf16NonFiniteGradientSkipsWithoutAScaler) {
  auto model = test::small_mlp(6);
  MixedPrecisionOptimizer opt({{test::named_params(model), std::nullopt}}, OptimizerOptions{},
                              MixedPrecisionOptions{.precision = Precision::kBf16});
  {
    torch::NoGradGuard g;
    model->parameters()[1].grad()[0] = std::numeric_limits<float>::quiet_NaN();
  }
  StepResult r = opt.step(0.1);
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(r.message, "non-finite gradient norm (nan): skipping step");
  EXPECT_EQ(opt.loss_scale(), 1.0);
}

TEST(TrainMixedPrecision, SurvivesModuleZeroGradSetToNone) {
  auto a = test::small_mlp(3), b = test::small_mlp(3);
  MixedPrecisionOptimizer oa({{test::named_params(a), std::nullopt}}, OptimizerOptions{}, MixedPrecisionOptions{});
  MixedPrecisionOptimizer ob({{test::named_params(b), std::nullopt}}, OptimizerOptions{}, MixedPrecisionOptions{});
  torch::Tensor x = torch::randn({4, 8}), y = torch::randn({4, 4});
  b->zero_grad(/*set_to_none=*/true);  // autograd now makes fresh .grad tensors outside the buffer
  loss_of(a, x, y).backward();
  loss_of(b, x, y).backward();
  oa.step(1e-2);
  ob.step(1e-2);
  for (std::size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i])) << i;
  }
  // ...and the gradients alias the flat buffer again.
  EXPECT_EQ(b->parameters()[0].grad().data_ptr(), ob.fp32_grad(0).data_ptr());
}

TEST(TrainMixedPrecision, TiedAndFrozenParametersAreTakenOnce) {
  torch::Tensor shared = torch::randn({5, 3}).requires_grad_();
  torch::Tensor frozen = torch::randn({2});
  torch::Tensor bias = torch::randn({3}).requires_grad_();
  MixedPrecisionOptimizer opt(
      {{{{"wte.weight", shared}, {"lm_head.weight", shared}, {"frozen", frozen}, {"bias", bias}}, std::nullopt}},
      OptimizerOptions{}, MixedPrecisionOptions{});
  auto state = opt.model_state();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0].first, "wte.weight");
  EXPECT_EQ(state[1].first, "bias");
}

TEST(TrainMixedPrecision, StateRoundTripResumesBitwise) {
  auto run = [](torch::nn::Sequential& model, MixedPrecisionOptimizer& opt, int from, int to) {
    for (int s = from; s < to; ++s) {
      torch::manual_seed(100 + s);
      torch::Tensor x = torch::randn({8, 8}), y = torch::randn({8, 4});
      loss_of(model, x, y).backward();
      opt.step(1e-2);
    }
  };
  MixedPrecisionOptions mp{.precision = Precision::kBf16, .gradient_clipping = 1.0};
  auto straight = test::small_mlp(8);
  MixedPrecisionOptimizer os({{test::named_params(straight), 0.1}}, OptimizerOptions{}, mp);
  run(straight, os, 0, 6);

  auto first = test::small_mlp(8);
  MixedPrecisionOptimizer of({{test::named_params(first), 0.1}}, OptimizerOptions{}, mp);
  run(first, of, 0, 3);
  std::map<std::string, torch::Tensor> model_saved, opt_saved;
  for (const auto& [n, t] : of.model_state()) model_saved[n] = t.clone();
  for (const auto& [n, t] : of.optimizer_state_tensors()) opt_saved[n] = t.clone();
  nlohmann::json meta = of.optimizer_state_meta();

  auto resumed = test::small_mlp(99);  // different init: everything must come from the state
  MixedPrecisionOptimizer orr({{test::named_params(resumed), 0.1}}, OptimizerOptions{}, mp);
  orr.load_model_state(model_saved, "model.safetensors");
  orr.load_optimizer_state(meta, opt_saved, "optimizer.safetensors");
  run(resumed, orr, 3, 6);
  for (std::size_t i = 0; i < straight->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(straight->parameters()[i], resumed->parameters()[i])) << i;
  }

  model_saved.erase("2.bias");
  try {
    orr.load_model_state(model_saved, "ckpt/model.safetensors");
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "ckpt/model.safetensors: missing parameter '2.bias'");
  }
  model_saved["2.bias"] = torch::zeros({5});
  try {
    orr.load_model_state(model_saved, "ckpt/model.safetensors");
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "ckpt/model.safetensors: parameter '2.bias' has the wrong shape (got [5]); expected [4]");
  }
}

}  // namespace
}  // namespace ds::engine::train
