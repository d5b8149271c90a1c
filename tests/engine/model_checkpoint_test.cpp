// Activation checkpointing must not change the numbers: the same loss and the same gradients
// as the plain forward/backward, for every policy and both layouts.
#include "engine/model/checkpoint.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.hpp"
#include "engine/model/causal_lm.hpp"
#include "estimators/presets.hpp"

namespace ds::engine::model {
namespace {

using Kind = configs::CheckpointPolicy::Kind;

struct Grads {
  double loss = 0;
  std::vector<std::pair<std::string, torch::Tensor>> grads;
};

Grads run(const estimators::ModelSpec& spec, configs::CheckpointPolicy policy, const torch::Tensor& ids) {
  auto model = build_model(spec, {.seed = 11, .checkpointing = policy});
  auto loss = next_token_loss(model->forward(ids.slice(1, 0, -1)), ids.slice(1, 1));
  loss.backward();
  Grads out{loss.item<double>(), {}};
  for (const auto& p : model->named_parameters()) {
    EXPECT_TRUE(p.value().grad().defined()) << p.key();
    out.grads.emplace_back(p.key(), p.value().grad().clone());
  }
  return out;
}

void expect_same(const Grads& plain, const Grads& other, const std::string& what) {
  EXPECT_EQ(plain.loss, other.loss) << what;  // the forward is the same computation
  ASSERT_EQ(plain.grads.size(), other.grads.size());
  for (std::size_t i = 0; i < plain.grads.size(); ++i) {
    const auto& [name, g] = plain.grads[i];
    // Tied embeddings accumulate two contributions whose order may differ: allow fp32 rounding.
    EXPECT_TRUE(torch::allclose(g, other.grads[i].second, 1e-5, 1e-8))
        << what << ": " << name << " max diff " << (g - other.grads[i].second).abs().max().item<double>();
  }
}

class CheckpointTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CheckpointTest, EveryPolicyGivesPlainGradients) {
  auto spec = estimators::find_model_preset(GetParam())->spec;
  spec.layers = 3;
  torch::manual_seed(0);
  auto ids = torch::randint(0, spec.vocab, {2, 33}, torch::kLong);
  Grads plain = run(spec, {}, ids);
  expect_same(plain, run(spec, {Kind::kFull, 0}, ids), "full");
  expect_same(plain, run(spec, {Kind::kEveryN, 2}, ids), "every-2");
  expect_same(plain, run(spec, {Kind::kSelective, 0}, ids), "selective");
}

INSTANTIATE_TEST_SUITE_P(Layouts, CheckpointTest, ::testing::Values("ds-tiny", "ds-small"));

TEST(Checkpoint, PolicyPicksBlocks) {
  auto spec = estimators::find_model_preset("ds-tiny")->spec;  // 4 layers
  CausalLM m(spec, {.checkpointing = {Kind::kEveryN, 2}});
  EXPECT_TRUE(m.checkpoints_block(0));
  EXPECT_FALSE(m.checkpoints_block(1));
  EXPECT_TRUE(m.checkpoints_block(2));
  m.set_checkpointing({Kind::kFull, 0});
  EXPECT_TRUE(m.checkpoints_block(3));
  m.set_checkpointing({Kind::kSelective, 0});
  EXPECT_FALSE(m.checkpoints_block(0));
  EXPECT_THROW(m.set_checkpointing({Kind::kEveryN, 0}), UsageError);
}

TEST(Checkpoint, FunctionRecomputesAndPassesInputGradients) {
  auto w = torch::randn({4, 4}, torch::requires_grad());
  auto x = torch::randn({3, 4}, torch::requires_grad());
  int calls = 0;
  auto fn = [&](const std::vector<torch::Tensor>& in) {
    ++calls;
    return torch::tanh(in[0].matmul(w)).sum(1);
  };
  auto y = checkpoint(fn, {x});
  EXPECT_EQ(calls, 1);
  y.sum().backward();
  EXPECT_EQ(calls, 2);  // recomputed in backward
  auto gx = x.grad().clone(), gw = w.grad().clone();
  x.mutable_grad().reset();
  w.mutable_grad().reset();
  fn({x}).sum().backward();
  EXPECT_TRUE(torch::allclose(gx, x.grad()));
  EXPECT_TRUE(torch::allclose(gw, w.grad()));
  torch::NoGradGuard no_grad;
  checkpoint(fn, {x});
  EXPECT_EQ(calls, 4);  // no graph: plain call, nothing to recompute later
}

}  // namespace
}  // namespace ds::engine::model
