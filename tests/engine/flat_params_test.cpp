// FlatLayout and FlatParams: parameters packed back to back into one buffer, each parameter a view
// of it, autograd accumulating straight into the flat gradient (DeepSpeed's flattened groups).
#include "engine/train/flat_params.hpp"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "common/error.hpp"
#include "tests/support/error_of.hpp"

namespace ds::engine::train {
namespace {

using ds::test::error_of;

std::vector<NamedTensor> three_params() {
  return {{"w", torch::arange(6, torch::kFloat).reshape({2, 3})},
          {"b", torch::tensor({10.0f, 20.0f})},
          {"s", torch::tensor({7.0f}).reshape({})}};
}

TEST(FlatLayout, SlotsFollowEachOtherInTheGivenOrder) {
  FlatLayout layout(three_params());
  ASSERT_EQ(layout.slots().size(), 3u);
  EXPECT_EQ(layout.slots()[1].name, "b");
  EXPECT_EQ(layout.slots()[1].offset, 6);
  EXPECT_EQ(layout.slots()[2].offset, 8);
  EXPECT_EQ(layout.slots()[2].numel, 1);  // a 0-d tensor holds one element
  EXPECT_EQ(layout.numel(), 9);
  // pack: w's 0..5, then b, then s; view/unpack give the shapes back without copying.
  std::vector<torch::Tensor> values;
  for (const auto& [name, t] : three_params()) values.push_back(t);
  torch::Tensor flat = layout.pack(values, torch::kDouble, torch::kCPU);
  EXPECT_TRUE(torch::equal(flat, torch::tensor({0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 7.0}, torch::kDouble)));
  torch::Tensor b = layout.view(flat, 1);
  EXPECT_EQ(b.sizes(), torch::IntArrayRef({2}));
  b.fill_(-1);
  EXPECT_EQ(flat[7].item<double>(), -1);
  auto named = layout.unpack(flat);
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[0].first, "w");
  EXPECT_EQ(named[0].second.sizes(), torch::IntArrayRef({2, 3}));
  EXPECT_EQ(named[2].second.dim(), 0);
}

TEST(FlatLayout, JsonRoundTripAndItsErrors) {
  FlatLayout layout(three_params());
  const nlohmann::json j = layout.to_json();
  EXPECT_EQ(j[1], nlohmann::json::parse(R"({"name": "b", "shape": [2], "offset": 6})"));
  FlatLayout back = FlatLayout::from_json(j, "ckpt");
  EXPECT_EQ(back.numel(), 9);
  EXPECT_NO_THROW(back.check_same(j, "ckpt"));

  EXPECT_EQ(error_of<UsageError>([] { FlatLayout::from_json(nlohmann::json::object(), "ckpt"); }),
            "ckpt: parameter layout must be a list (got {})");
  EXPECT_EQ(error_of<UsageError>([] { FlatLayout::from_json(nlohmann::json::parse(R"([{"name": "w"}])"), "ckpt"); }),
            R"(ckpt: malformed parameter layout entry (got {"name":"w"}); expected {"name": ..., "shape": [...], "offset": N})");
  nlohmann::json gap = j;
  gap[1]["offset"] = 7;
  EXPECT_EQ(error_of<UsageError>([&] { FlatLayout::from_json(gap, "ckpt"); }),
            "ckpt: parameter layout is not contiguous at 'b' (got offset 7); expected 6");
  EXPECT_EQ(error_of<RuntimeError>([&] { layout.check_same(nlohmann::json::array(), "ckpt"); }),
            "ckpt: parameter layout differs from the model's (got 0 parameters); expected 3; hint: resume with the "
            "same model (and the same frozen/tied parameters)");
  nlohmann::json renamed = j;
  renamed[0]["name"] = "v";
  EXPECT_EQ(error_of<RuntimeError>([&] { layout.check_same(renamed, "ckpt"); }).rfind("ckpt: parameter 0 differs", 0), 0u);
}

TEST(FlatParams, ParametersAndGradientsAreViewsOfTheFlatBuffers) {
  torch::Tensor w = torch::ones({2, 2}).requires_grad_(true);
  torch::Tensor frozen = torch::ones({3});  // no grad: left out
  torch::Tensor b = torch::zeros({2}).requires_grad_(true);
  FlatParams flat({{"w", w}, {"frozen", frozen}, {"tied", w}, {"b", b}}, torch::kFloat);
  ASSERT_EQ(flat.layout().slots().size(), 2u);  // w once (first name), then b
  EXPECT_EQ(flat.layout().slots()[1].name, "b");
  EXPECT_EQ(flat.data().numel(), 6);
  EXPECT_EQ(w.data_ptr(), flat.data().data_ptr());
  // d/dw sum(w x) = x; d/db sum(b) = 1, accumulated in place into grad().
  const torch::Tensor x = torch::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
  ((w * x).sum() + b.sum()).backward();
  EXPECT_TRUE(torch::equal(flat.grad(), torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 1.0f, 1.0f})));
  // zero_grad-style reset: the next gradient lands in a fresh tensor; sync_grads folds it back.
  w.mutable_grad() = torch::Tensor();
  (w * 2).sum().backward();
  flat.sync_grads();
  EXPECT_TRUE(torch::equal(flat.grad(), torch::tensor({3.0f, 4.0f, 5.0f, 6.0f, 1.0f, 1.0f})));
  EXPECT_EQ(w.grad().data_ptr(), flat.grad().data_ptr());
}

TEST(FlatParams, RefusesNoTrainableParametersAndReplacedStorage) {
  EXPECT_EQ(error_of<RuntimeError>([] { FlatParams({{"frozen", torch::ones({2})}}, torch::kFloat); }),
            "optimizer: the model has no trainable parameters");
  torch::Tensor w = torch::ones({2}).requires_grad_(true);
  FlatParams flat({{"w", w}}, torch::kFloat);
  {
    torch::NoGradGuard no_grad;
    w.set_data(torch::zeros({2}));
  }
  EXPECT_EQ(error_of<RuntimeError>([&] { flat.sync_grads(); }),
            "w: parameter storage was replaced outside the optimizer; hint: load weights with param.copy_(...) under "
            "torch::NoGradGuard, not set_data");
}

TEST(FlatParams, TrainableUniqueKeepsTheFirstNameOfEachTrainableTensor) {
  torch::Tensor e = torch::ones({4}).requires_grad_(true);
  auto kept = trainable_unique({{"embed", e}, {"frozen", torch::ones({1})}, {"lm_head", e}});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].first, "embed");
}

}  // namespace
}  // namespace ds::engine::train
