// ZeRO-3's partitioned construction: placeholder parameters cost no memory, and the initial
// values handed out one tensor at a time are exactly the weights build_model gives.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "engine/model/causal_lm.hpp"
#include "engine/model/init.hpp"
#include "engine/model/layers.hpp"
#include "engine/train/memory_tracker.hpp"
#include "estimators/presets.hpp"

namespace ds::engine::model {
namespace {

estimators::ModelSpec preset(const std::string& name) {
  estimators::ModelSpec spec = estimators::find_model_preset(name == "tiny-gpt2" ? "gpt2" : name)->spec;
  if (name == "tiny-gpt2") {
    // GPT-2's layers (Conv1D, LayerNorm with biases, learned positions) at ds-tiny's size.
    spec.layers = 2;
    spec.hidden = 64;
    spec.heads = spec.kv_heads = 4;
    spec.head_dim = 16;
    spec.ffn = 256;
    spec.vocab = 512;
    spec.max_seq = 128;
  }
  return spec;
}

// GPT-2 (Conv1D, LayerNorm with biases, learned positions) and Llama (Linear, RMSNorm).
class InitialValues : public testing::TestWithParam<const char*> {};

TEST_P(InitialValues, AreTheWeightsBuildModelGives) {
  const estimators::ModelSpec spec = preset(GetParam());
  auto model = build_model(spec, {.seed = 7});
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : model->named_parameters()) params.emplace(item.key(), item.value());
  std::set<std::string> seen;
  initial_values(*model, 7, [&](const std::string& name, const torch::Tensor& value) {
    ASSERT_TRUE(params.count(name)) << name;
    EXPECT_TRUE(seen.insert(name).second) << name << " twice";
    EXPECT_EQ(value.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(value, params.at(name))) << name;
  });
  EXPECT_EQ(seen.size(), params.size());
  // Another seed, other values.
  bool differs = false;
  initial_values(*model, 8, [&](const std::string& name, const torch::Tensor& value) {
    differs = differs || !torch::equal(value, params.at(name));
  });
  EXPECT_TRUE(differs);
}

INSTANTIATE_TEST_SUITE_P(Families, InitialValues, testing::Values("ds-tiny", "tiny-gpt2"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "tiny-gpt2" ? "gpt2" : "llama";
                         });

TEST(Placeholders, BuildAModelWithoutItsMemory) {
  train::MemoryTracker::install();
  const estimators::ModelSpec spec = preset("ds-tiny");
  const std::int64_t before = train::MemoryTracker::current_bytes(torch::kCPU);
  auto model = build_model(spec, {.dtype = torch::kBFloat16, .seed = 7, .placeholders = true});
  // One element of storage per parameter tensor.
  EXPECT_LT(train::MemoryTracker::current_bytes(torch::kCPU) - before, 1024);
  auto reference = build_model(spec, {.seed = 7});
  std::map<std::string, torch::Tensor> shapes;
  for (const auto& item : reference->named_parameters()) shapes.emplace(item.key(), item.value());
  std::size_t count = 0;
  for (const auto& item : model->named_parameters()) {
    const torch::Tensor& p = item.value();
    EXPECT_TRUE(is_placeholder(p)) << item.key();
    EXPECT_EQ(p.scalar_type(), torch::kBFloat16) << item.key();
    EXPECT_TRUE(p.requires_grad() && p.is_leaf()) << item.key();
    EXPECT_EQ(p.sizes(), shapes.at(item.key()).sizes()) << item.key();
    ++count;
  }
  EXPECT_EQ(count, shapes.size());
  EXPECT_FALSE(is_placeholder(shapes.begin()->second));
  // The placeholders' model hands out the same initial values as the real one.
  initial_values(*model, 7, [&](const std::string& name, const torch::Tensor& value) {
    EXPECT_TRUE(torch::equal(value, shapes.at(name))) << name;
  });
}

TEST(Placeholders, OnlyInsideTheirScope) {
  {
    PlaceholderParameters outer(torch::TensorOptions().dtype(torch::kFloat));
    {
      PlaceholderParameters inner(torch::TensorOptions().dtype(torch::kHalf));
      EXPECT_EQ(new_parameter({4, 4}).scalar_type(), torch::kHalf);
    }
    torch::Tensor p = new_parameter({4, 4});
    EXPECT_TRUE(is_placeholder(p));
    EXPECT_EQ(p.scalar_type(), torch::kFloat);
  }
  torch::Tensor p = new_parameter({4, 4});
  EXPECT_FALSE(is_placeholder(p));
  EXPECT_EQ(p.storage().nbytes(), 64u);
}

}  // namespace
}  // namespace ds::engine::model
