#include "engine/checkpoint/export_hf.hpp"

#include <gtest/gtest.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/io/hf_config_writer.hpp"
#include "engine/io/safetensors.hpp"
#include "engine/train/mixed_precision.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ds::engine::train;

/// A few bf16 steps on a small model, saved with a model config; returns the optimizer used.
std::unique_ptr<MixedPrecisionOptimizer> train_and_save(const fs::path& dir, torch::nn::Sequential& model,
                                                        Precision precision) {
  torch::manual_seed(3);
  model = torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 2));
  std::vector<NamedTensor> params;
  for (auto& p : model->named_parameters()) params.emplace_back("model." + p.key(), p.value());
  auto opt = std::make_unique<MixedPrecisionOptimizer>(std::vector<ParamGroupSpec>{{params, std::nullopt}},
                                                       OptimizerOptions{}, MixedPrecisionOptions{.precision = precision});
  for (int i = 0; i < 3; ++i) {
    torch::Tensor x = torch::randn({6, 4}).to(scalar_type_of(precision));
    torch::mse_loss(model->forward(x).to(torch::kFloat), torch::randn({6, 2})).backward();
    opt->step(1e-2);
  }
  CheckpointState s;
  s.model = opt->model_state();
  s.optimizer = opt->optimizer_state_tensors();
  s.optimizer_meta = opt->optimizer_state_meta();
  s.model_config = {{"model_type", "llama"}, {"hidden_size", 8}};
  s.metadata.step = 3;
  save_checkpoint(dir, s);
  return opt;
}

TEST(CheckpointExport, Bf16RunExportsTheFp32Masters) {
  test::ScratchDir dir("export-bf16");
  torch::nn::Sequential model;
  auto opt = train_and_save(dir.path() / "ckpt", model, Precision::kBf16);
  ExportResult r = export_hf(dir.path() / "ckpt", dir.path() / "hf");
  EXPECT_EQ(r.tag, "global_step3");
  EXPECT_TRUE(r.from_fp32_master);
  EXPECT_EQ(r.tensors, 4);
  EXPECT_EQ(r.parameters, 4 * 8 + 8 + 8 * 2 + 2);
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].filename(), "model.safetensors");
  io::SafetensorsReader reader(dir.path() / "hf");
  EXPECT_EQ(reader.metadata().at("format"), "pt");
  // The exported fp32 weights are the master copy, which the bf16 model is a rounding of.
  torch::Tensor master = opt->optimizer_state_tensors().back().second;  // group0.master
  torch::Tensor w = reader.tensor("model.0.weight");
  EXPECT_EQ(w.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(w, master.narrow(0, 0, 32).view({8, 4})));
  EXPECT_TRUE(torch::equal(w.to(torch::kBFloat16), model->parameters()[0]));
  json config = json::parse(read_file(dir.path() / "hf" / "config.json"));
  EXPECT_EQ(config["torch_dtype"], "float32");
  EXPECT_EQ(config["model_type"], "llama");

  ExportResult half = export_hf(dir.path() / "ckpt", dir.path() / "hf16",
                                {.dtype = torch::kBFloat16, .max_shard_bytes = 40});
  EXPECT_EQ(half.files.size(), 5u);  // shards of 16, 64 and 4+32 bytes (name order), index, config.json
  io::SafetensorsReader shards(dir.path() / "hf16");
  EXPECT_TRUE(torch::equal(shards.tensor("model.0.weight"), model->parameters()[0]));
  EXPECT_EQ(json::parse(read_file(dir.path() / "hf16" / "config.json"))["torch_dtype"], "bfloat16");
}

TEST(CheckpointExport, Fp32RunExportsTheModelWeights) {
  test::ScratchDir dir("export-fp32");
  torch::nn::Sequential model;
  train_and_save(dir.path() / "ckpt", model, Precision::kFp32);
  ExportResult r = export_hf(dir.path() / "ckpt", dir.path() / "hf", {.model_config = {{"model_type", "gpt2"}}});
  EXPECT_FALSE(r.from_fp32_master);
  io::SafetensorsReader reader(dir.path() / "hf");
  for (auto& p : model->named_parameters()) EXPECT_TRUE(torch::equal(reader.tensor("model." + p.key()), p.value()));
  EXPECT_EQ(json::parse(read_file(dir.path() / "hf" / "config.json"))["model_type"], "gpt2");  // the override
}

TEST(CheckpointExport, ErrorsNameTheCheckpoint) {
  test::ScratchDir dir("export-errors");
  CheckpointState s;
  s.model = {{"w", torch::ones({2})}};
  save_checkpoint(dir.path(), s);
  try {
    export_hf(dir.path(), dir.path() / "hf");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), (dir.path() / "global_step0").string() +
                                         ": has no model_config.json; hint: pass the model's config (--model "
                                         "PRESET|config.json) to write config.json");
  }
  try {
    export_hf(dir.path(), dir.path() / "hf", {.dtype = torch::kInt, .model_config = json::object()});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "export dtype: unsupported (got Int); expected fp32, bf16 or fp16");
  }
}

}  // namespace
}  // namespace ds::engine::checkpoint
