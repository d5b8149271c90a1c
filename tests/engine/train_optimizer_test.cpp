#include "engine/train/optimizer.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "common/error.hpp"
#include "engine/train/mixed_precision.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::train {
namespace {

using nlohmann::json;

/// Largest |a - b| / max(1, |b|) and where it is, for a readable failure.
void expect_close(const torch::Tensor& got, const torch::Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.numel(), want.numel()) << what;
  auto a = got.detach().to(torch::kDouble).reshape({-1});
  auto b = want.detach().to(torch::kDouble).reshape({-1});
  auto err = (a - b).abs() / b.abs().clamp_min(1.0);
  auto idx = err.argmax().item<std::int64_t>();
  EXPECT_LE(err[idx].item<double>(), tol) << what << ": first worst element " << idx << " got "
                                         << a[idx].item<double>() << " want " << b[idx].item<double>();
}

torch::Tensor from_list(const json& values) {
  std::vector<float> v = values.get<std::vector<float>>();
  return torch::tensor(v, torch::kFloat);
}

OptimizerOptions options_from_case(const json& c) {
  OptimizerOptions o;
  std::string rule = c["rule"];
  o.rule = rule == "SGD" ? UpdateRule::kSgd : rule == "Adam" ? UpdateRule::kAdam : UpdateRule::kAdamW;
  o.weight_decay = c["weight_decay"];
  if (o.rule == UpdateRule::kSgd) {
    o.momentum = c["momentum"];
    o.dampening = c["dampening"];
    o.nesterov = c["nesterov"];
  } else {
    o.beta1 = c["betas"][0];
    o.beta2 = c["betas"][1];
    o.eps = c["eps"];
  }
  return o;
}

// Our flat optimizer + clip_grad_norm against torch.optim (Python) trajectories: one flat group
// holding every parameter back to back, per-step lr, clipping before each step.
TEST(TrainOptimizer, MatchesPythonTorchOptim) {
  DS_RUN_REFERENCE_OR_SKIP(out, "train_optim_reference.py", "");
  json ref = json::parse(out);
  ASSERT_EQ(ref["cases"].size(), 7u);
  for (const auto& c : ref["cases"]) {
    SCOPED_TRACE(c["rule"].get<std::string>() + " wd=" + c["weight_decay"].dump() + " max_norm=" + c["max_norm"].dump());
    Optimizer opt(options_from_case(c));
    torch::Tensor params = from_list(c["initial"]);
    opt.add_group(params);
    for (std::size_t k = 0; k < c["grads"].size(); ++k) {
      torch::Tensor grad = from_list(c["grads"][k]);
      double max_norm = c["max_norm"];
      if (max_norm > 0) {
        // clip_grad_norm_ over the separate tensors: split the flat gradient the same way.
        std::vector<torch::Tensor> parts;
        std::int64_t offset = 0;
        for (const auto& shape : c["shapes"]) {
          std::int64_t n = 1;
          for (auto d : shape) n *= d.get<std::int64_t>();
          parts.push_back(grad.narrow(0, offset, n));
          offset += n;
        }
        double norm = clip_grad_norm(parts, max_norm);
        EXPECT_NEAR(norm, c["norms"][k].get<double>(), 1e-5 * norm) << "step " << k;
      }
      opt.step({grad}, c["lrs"][k].get<double>());
    }
    expect_close(params, from_list(c["final"]), 2e-6, "final parameters");
    EXPECT_EQ(opt.step_count(0), static_cast<std::int64_t>(c["grads"].size()));
  }
}

struct TorchCase {
  UpdateRule rule;
  double weight_decay, momentum, dampening;
  bool nesterov;
};

std::unique_ptr<torch::optim::Optimizer> torch_optimizer(const TorchCase& c, std::vector<torch::Tensor> params,
                                                         double lr) {
  switch (c.rule) {
    case UpdateRule::kAdam:
      return std::make_unique<torch::optim::Adam>(
          params, torch::optim::AdamOptions(lr).betas({0.9, 0.95}).eps(1e-8).weight_decay(c.weight_decay));
    case UpdateRule::kAdamW:
      return std::make_unique<torch::optim::AdamW>(
          params, torch::optim::AdamWOptions(lr).betas({0.9, 0.95}).eps(1e-8).weight_decay(c.weight_decay));
    case UpdateRule::kSgd:
      return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(lr)
                                                             .momentum(c.momentum)
                                                             .dampening(c.dampening)
                                                             .nesterov(c.nesterov)
                                                             .weight_decay(c.weight_decay));
  }
  return nullptr;
}

// Against LibTorch's C++ torch::optim on tensors big enough to span several chunks (the flat
// optimizer works in 256K-element chunks), with several groups.
TEST(TrainOptimizer, MatchesLibTorchOptimAcrossChunks) {
  const TorchCase cases[] = {{UpdateRule::kAdamW, 0.1, 0, 0, false},
                             {UpdateRule::kAdam, 0.01, 0, 0, false},
                             {UpdateRule::kSgd, 0.0, 0.9, 0.0, true},
                             {UpdateRule::kSgd, 0.02, 0.5, 0.25, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(to_string(c.rule));
    torch::manual_seed(7);
    std::vector<torch::Tensor> ref = {torch::randn({600, 1000}), torch::randn({333})};
    std::vector<torch::Tensor> ours;
    for (auto& t : ref) ours.push_back(t.clone().reshape({-1}));
    for (auto& t : ref) t.requires_grad_();
    const double lr = 3e-3;
    auto torch_opt = torch_optimizer(c, ref, lr);
    OptimizerOptions o{.rule = c.rule, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = c.weight_decay,
                       .momentum = c.momentum, .dampening = c.dampening, .nesterov = c.nesterov};
    Optimizer opt(o);
    for (auto& t : ours) opt.add_group(t);
    for (int step = 0; step < 4; ++step) {
      std::vector<torch::Tensor> grads;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        torch::Tensor g = torch::randn(ref[i].sizes());
        ref[i].mutable_grad() = g.clone();
        grads.push_back(g.reshape({-1}));
      }
      torch_opt->step();
      opt.step(grads, lr);
    }
    for (std::size_t i = 0; i < ref.size(); ++i) expect_close(ours[i], ref[i], 1e-6, "group " + std::to_string(i));
  }
}

TEST(TrainOptimizer, ClipGradNormMatchesLibTorch) {
  torch::manual_seed(3);
  for (double max_norm : {0.5, 1e6}) {
    std::vector<torch::Tensor> a = {torch::randn({50, 20}) * 2, torch::randn({7}), torch::randn({3, 3, 3})};
    std::vector<torch::Tensor> b;
    for (auto& t : a) b.push_back(t.clone().requires_grad_());
    for (std::size_t i = 0; i < a.size(); ++i) b[i].mutable_grad() = a[i].clone();
    double want = torch::nn::utils::clip_grad_norm_(b, max_norm);
    double got = clip_grad_norm(a, max_norm);
    EXPECT_NEAR(got, want, 1e-6 * want);
    for (std::size_t i = 0; i < a.size(); ++i) expect_close(a[i], b[i].grad(), 1e-6, "clipped grad");
  }
  std::vector<torch::Tensor> bad = {torch::tensor({1.0f, std::numeric_limits<float>::infinity()})};
  EXPECT_TRUE(std::isinf(clip_grad_norm(bad, 1.0)));
  EXPECT_EQ(bad[0][0].item<float>(), 1.0f);  // an inf norm scales nothing
}

TEST(TrainOptimizer, DeepSpeedConfigNames) {
  configs::OptimizerConfig adam;
  adam.type = configs::OptimizerType::kAdam;
  EXPECT_EQ(optimizer_options(adam).rule, UpdateRule::kAdamW);  // ADAM_W_MODE_DEFAULT = True
  adam.params.adam_w_mode = false;
  EXPECT_EQ(optimizer_options(adam).rule, UpdateRule::kAdam);
  configs::OptimizerConfig adamw;
  adamw.type = configs::OptimizerType::kAdamW;
  adamw.params.adam_w_mode = false;  // AdamW stays AdamW
  EXPECT_EQ(optimizer_options(adamw).rule, UpdateRule::kAdamW);
  EXPECT_EQ(optimizer_options(configs::OptimizerConfig{}).rule, UpdateRule::kAdamW);
  configs::OptimizerConfig sgd;
  sgd.type = configs::OptimizerType::kSGD;
  sgd.params.momentum = 0.9;
  sgd.params.nesterov = true;
  OptimizerOptions o = optimizer_options(sgd);
  EXPECT_EQ(o.rule, UpdateRule::kSgd);
  EXPECT_EQ(o.momentum, 0.9);
  EXPECT_TRUE(o.nesterov);
}

TEST(TrainOptimizer, UnsupportedConfigsGetExactMessages) {
  using configs::OptimizerType;
  struct Case {
    OptimizerType type;
    std::function<void(configs::OptimizerParams&)> edit;
    const char* message;
  };
  const Case cases[] = {
      {OptimizerType::kLamb, [](auto&) {},
       "optimizer.type: not supported by ds's trainer (got \"Lamb\"); expected Adam, AdamW or SGD"},
      {OptimizerType::kAdam, [](auto& p) { p.amsgrad = true; },
       "optimizer.params.amsgrad: not supported (got true); expected false; hint: DeepSpeed's FusedAdam and CPU "
       "Adam do not support it either"},
      {OptimizerType::kSGD, [](auto& p) { p.nesterov = true; },
       "optimizer.params.nesterov: needs momentum > 0 and dampening 0; hint: set optimizer.params.momentum (e.g. "
       "0.9) or drop nesterov"},
      {OptimizerType::kAdamW, [](auto& p) { p.betas = {0.9, 1.0}; },
       "optimizer.params.betas[1]: must be in [0, 1) (got 1)"},
      {OptimizerType::kAdamW, [](auto& p) { p.weight_decay = -0.1; },
       "optimizer.params.weight_decay: must be >= 0 (got -0.1)"},
  };
  for (const auto& c : cases) {
    configs::OptimizerConfig config;
    config.type = c.type;
    c.edit(config.params);
    try {
      optimizer_options(config);
      ADD_FAILURE() << "no error for: " << c.message;
    } catch (const ConfigError& e) {
      EXPECT_STREQ(e.what(), c.message);
    }
  }
}

TEST(TrainOptimizer, StateRoundTripContinuesBitwise) {
  torch::manual_seed(11);
  torch::Tensor init = torch::randn({1000});
  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 6; ++i) grads.push_back(torch::randn({1000}));
  OptimizerOptions o{.rule = UpdateRule::kAdamW, .weight_decay = 0.1};
  torch::Tensor a = init.clone();
  Optimizer straight(o);
  straight.add_group(a);
  for (int i = 0; i < 6; ++i) straight.step({grads[i]}, 1e-2);

  torch::Tensor b = init.clone();
  Optimizer first(o);
  first.add_group(b);
  for (int i = 0; i < 3; ++i) first.step({grads[i]}, 1e-2);
  std::map<std::string, torch::Tensor> saved;
  for (const auto& [name, t] : first.state_tensors()) saved[name] = t.clone();
  Optimizer resumed(o);
  torch::Tensor c = b.clone();
  resumed.add_group(c);
  resumed.load_state(first.state_meta(), saved, "optimizer.safetensors");
  for (int i = 3; i < 6; ++i) resumed.step({grads[i]}, 1e-2);
  EXPECT_TRUE(torch::equal(a, c));

  Optimizer sgd(OptimizerOptions{.rule = UpdateRule::kSgd, .momentum = 0.9});
  torch::Tensor d = init.clone();
  sgd.add_group(d);
  try {
    sgd.load_state(first.state_meta(), saved, "ckpt/optimizer.safetensors");
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "ckpt/optimizer.safetensors: optimizer state saved by another optimizer (got \"AdamW\"); "
                           "expected \"SGD\"");
  }
}

}  // namespace
}  // namespace ds::engine::train
