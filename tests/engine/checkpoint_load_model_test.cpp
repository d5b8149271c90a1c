#include "engine/checkpoint/load_model.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/checkpoint/export_hf.hpp"
#include "engine/io/safetensors.hpp"
#include "tests/engine/lm_checkpoint_util.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using train::Precision;

std::string error_of(const fs::path& path, const LoadModelOptions& options = {}) {
  try {
    load_model(path, options);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

void expect_same_weights(model::CausalLM& a, model::CausalLM& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].key(), pb[i].key());
    EXPECT_TRUE(torch::equal(pa[i].value(), pb[i].value())) << pa[i].key();
  }
}

/// A small GPT-2 (learned positions, LayerNorm, Conv1D weights, tied head).
estimators::ModelSpec tiny_gpt2() {
  estimators::ModelSpec s = estimators::find_model_preset("gpt2")->spec;
  s.name = "tiny-gpt2";
  s.layers = 2;
  s.hidden = 64;
  s.heads = s.kv_heads = 4;
  s.head_dim = 16;
  s.ffn = 256;
  s.vocab = 300;
  s.max_seq = 64;
  return s;
}

void write_config(const fs::path& dir, const estimators::ModelSpec& spec) {
  fs::create_directories(dir);
  write_file_atomic(dir / "config.json", io::hf_config_json(spec).dump(2));
}

class LoadModelTest : public ::testing::Test {
 protected:
  test::ScratchDir scratch_{"load-model"};
  const fs::path& dir_ = scratch_.path();
};

// A bf16 run: the loaded weights are the fp32 masters (not the bf16 model's rounding of them),
// and loading in bf16 gives exactly the weights the run trained.
TEST_F(LoadModelTest, DsCheckpointLoadsFromTheFp32Masters) {
  const auto spec = test::tiny_spec();
  test::TrainedLm lm = test::train_lm(spec, Precision::kBf16, 2);
  const fs::path tag_dir = test::save_lm(dir_ / "ckpt", lm, spec, 2);

  LoadedModel fp32 = load_model(dir_ / "ckpt");
  EXPECT_EQ(fp32.source, ModelSource::kDsCheckpoint);
  EXPECT_EQ(fp32.tag, "global_step2");
  EXPECT_EQ(fp32.step, 2);
  EXPECT_EQ(fp32.weights, tag_dir);
  EXPECT_TRUE(fp32.from_fp32_master);
  EXPECT_EQ(fp32.spec.layers, spec.layers);
  CheckpointWeights masters = checkpoint_weights(load_checkpoint(dir_ / "ckpt"), "test");
  for (const auto& [name, w] : masters.tensors) {
    torch::Tensor p = fp32.model->named_parameters()[name];
    EXPECT_EQ(p.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(p, w)) << name;
  }
  bool some_differ = false;  // the masters carry precision the bf16 model lost
  for (const auto& [name, w] : masters.tensors) some_differ |= !torch::equal(w.to(torch::kBFloat16).to(torch::kFloat), w);
  EXPECT_TRUE(some_differ);

  LoadedModel bf16 = load_model(tag_dir, {.dtype = torch::kBFloat16});  // DIR/<tag> directly
  EXPECT_EQ(bf16.tag, "global_step2");
  expect_same_weights(*bf16.model, *lm.model);
  EXPECT_FALSE(bf16.model->is_training());
}

TEST_F(LoadModelTest, TagsSelectACheckpoint) {
  const auto spec = test::tiny_spec();
  test::TrainedLm lm = test::train_lm(spec, Precision::kFp32, 1);
  test::save_lm(dir_ / "ckpt", lm, spec, 1);
  test::save_lm(dir_ / "ckpt", lm, spec, 2);
  EXPECT_EQ(load_model(dir_ / "ckpt", {.tag = "global_step1"}).step, 1);
  EXPECT_EQ(load_model(dir_ / "ckpt").step, 2);
  EXPECT_FALSE(load_model(dir_ / "ckpt").from_fp32_master);
  EXPECT_EQ(error_of(dir_ / "ckpt" / "global_step2", {.tag = "global_step1"}),
            (dir_ / "ckpt" / "global_step2").string() +
                ": is checkpoint 'global_step2', not the tag asked for (got global_step1); expected global_step2; "
                "hint: pass the checkpoint directory above it to choose a tag");
}

TEST_F(LoadModelTest, HuggingFaceDirectoryFileOrShards) {
  const auto spec = test::tiny_spec();
  test::TrainedLm lm = test::train_lm(spec, Precision::kFp32, 1);
  test::save_lm(dir_ / "ckpt", lm, spec, 1);
  export_hf(dir_ / "ckpt", dir_ / "hf");
  export_hf(dir_ / "ckpt", dir_ / "sharded", {.max_shard_bytes = 100'000});
  ASSERT_TRUE(fs::exists(dir_ / "sharded" / io::kIndexFileName));

  LoadedModel hf = load_model(dir_ / "hf");
  EXPECT_EQ(hf.source, ModelSource::kHuggingFace);
  EXPECT_EQ(hf.weights, dir_ / "hf" / "model.safetensors");
  EXPECT_TRUE(hf.tag.empty());
  expect_same_weights(*hf.model, *lm.model);
  expect_same_weights(*load_model(dir_ / "hf" / "config.json").model, *lm.model);
  expect_same_weights(*load_model(dir_ / "hf" / "model.safetensors").model, *lm.model);
  LoadedModel sharded = load_model(dir_ / "sharded");
  EXPECT_EQ(sharded.weights, dir_ / "sharded" / io::kIndexFileName);
  expect_same_weights(*sharded.model, *lm.model);
  LoadedModel half = load_model(dir_ / "hf", {.dtype = torch::kHalf});
  for (const auto& p : half.model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kHalf);
}

// The original GPT-2 files on the Hub were saved from GPT2Model: no "transformer." prefix, and
// the attention mask buffers ("h.0.attn.bias") stored beside the weights.
TEST_F(LoadModelTest, Gpt2FileWithoutPrefixAndWithMaskBuffers) {
  const auto spec = tiny_gpt2();
  auto model = model::build_model(spec, {.seed = 3});
  std::vector<io::NamedTensor> tensors;
  for (const auto& p : model->named_parameters()) tensors.emplace_back(p.key().substr(12), p.value());
  for (int i = 0; i < 2; ++i) {
    tensors.emplace_back("h." + std::to_string(i) + ".attn.bias", torch::ones({1, 1, 64, 64}).tril());
  }
  write_config(dir_ / "gpt2", spec);
  io::save_safetensors(dir_ / "gpt2" / "model.safetensors", tensors);
  LoadedModel m = load_model(dir_ / "gpt2");
  EXPECT_EQ(m.spec.family, estimators::ModelFamily::kGpt2);
  expect_same_weights(*m.model, *model);
}

TEST_F(LoadModelTest, TiedHeadIsTheEmbeddingAndAnUntiedHeadIsRequired) {
  auto tied = test::tiny_spec();
  auto model = model::build_model(tied);
  std::vector<io::NamedTensor> tensors;
  for (const auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());
  // Some exports keep the tied copy: ignored, the head is the embedding.
  tensors.emplace_back("lm_head.weight", torch::zeros({tied.vocab, tied.hidden}));
  write_config(dir_ / "tied", tied);
  io::save_safetensors(dir_ / "tied" / "model.safetensors", tensors);
  LoadedModel m = load_model(dir_ / "tied");
  EXPECT_EQ(m.model->lm_head, nullptr);
  expect_same_weights(*m.model, *model);

  auto untied = tied;
  untied.tied_embeddings = false;
  tensors.pop_back();
  write_config(dir_ / "untied", untied);
  io::save_safetensors(dir_ / "untied" / "model.safetensors", tensors);
  EXPECT_EQ(error_of(dir_ / "untied"), (dir_ / "untied" / "model.safetensors").string() +
                                           ": missing tensor 'lm_head.weight'; expected every parameter of the "
                                           "model config.json describes");
}

TEST_F(LoadModelTest, MismatchedWeightsNameTheFileAndTensor) {
  const auto spec = test::tiny_spec();
  auto model = model::build_model(spec);
  std::vector<io::NamedTensor> tensors;
  for (const auto& p : model->named_parameters()) {
    if (p.key() == "model.norm.weight") {
      tensors.emplace_back("model.norm.weights", p.value());  // a typo
    } else if (p.key() == "model.layers.1.mlp.up_proj.weight") {
      tensors.emplace_back(p.key(), p.value().narrow(0, 0, 100));
    } else {
      tensors.emplace_back(p.key(), p.value());
    }
  }
  write_config(dir_ / "bad", spec);
  const fs::path file = dir_ / "bad" / "model.safetensors";
  io::save_safetensors(file, tensors);
  EXPECT_EQ(error_of(dir_ / "bad"), file.string() + ": tensor 'model.layers.1.mlp.up_proj.weight' does not fit the "
                                                    "model (got [100, 128] Float); expected [512, 128] floating "
                                                    "point; hint: the config does not describe these weights");
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [](const auto& t) { return t.first == "model.layers.1.mlp.up_proj.weight"; }),
                tensors.end());
  tensors.emplace_back("model.layers.1.mlp.up_proj.weight", torch::zeros({512, 128}));
  io::save_safetensors(file, tensors);
  EXPECT_EQ(error_of(dir_ / "bad"), file.string() + ": missing tensor 'model.norm.weight'; expected every parameter "
                                                    "of the model config.json describes; did you mean "
                                                    "'model.norm.weights'?");
}

TEST_F(LoadModelTest, PathsThatHoldNoModelAreExplained) {
  const std::string expected =
      "expected a ds checkpoint directory (DIR with 'latest', or DIR/<tag>) or a Hugging Face model directory "
      "(config.json with model.safetensors or model.safetensors.index.json)";
  EXPECT_EQ(error_of(dir_ / "nope"), (dir_ / "nope").string() + ": no such file or directory; " + expected);
  fs::create_directories(dir_ / "empty");
  EXPECT_EQ(error_of(dir_ / "empty"),
            (dir_ / "empty").string() + ": not a ds checkpoint or a Hugging Face model directory; " + expected);
  write_file_atomic(dir_ / "notes.txt", "hi");
  EXPECT_EQ(error_of(dir_ / "notes.txt"), (dir_ / "notes.txt").string() + ": not a model file; " + expected);
  write_config(dir_ / "noweights", test::tiny_spec());
  EXPECT_EQ(error_of(dir_ / "noweights"),
            (dir_ / "noweights").string() +
                ": no weights beside config.json; expected model.safetensors or model.safetensors.index.json; hint: "
                "only safetensors are read; convert pytorch_model.bin with transformers' "
                "save_pretrained(safe_serialization=True)");
  EXPECT_EQ(error_of(dir_ / "noweights", {.dtype = torch::kInt}),
            "model dtype: not a floating-point type (got Int); expected fp32, bf16 or fp16");
}

TEST_F(LoadModelTest, CheckpointErrors) {
  const auto spec = test::tiny_spec();
  test::TrainedLm lm = test::train_lm(spec, Precision::kFp32, 0);
  const fs::path tag_dir = test::save_lm(dir_ / "noconfig", lm, spec, 0, /*with_model_config=*/false);
  EXPECT_EQ(error_of(dir_ / "noconfig"),
            (tag_dir / "model_config.json").string() +
                ": missing; expected the model's Hugging Face config; hint: this checkpoint does not say which model "
                "it holds; it was saved without --model");

  // A checkpoint whose weights are not the model its config describes.
  CheckpointState s;
  s.model = lm.optimizer->model_state();
  s.model.emplace_back("model.extra.weight", torch::zeros({2}));
  s.model_config = io::hf_config_json(spec);
  const fs::path extra = save_checkpoint(dir_ / "extra", s);
  EXPECT_EQ(error_of(dir_ / "extra"), (extra / "model.safetensors").string() +
                                          ": holds tensors the model does not have (got 'model.extra.weight'); "
                                          "expected exactly the model's parameters; hint: the checkpoint's "
                                          "model_config.json does not describe its weights");
  EXPECT_EQ(error_of(dir_ / "extra", {.tag = "global_step9"}),
            (dir_ / "extra" / "global_step9").string() +
                ": checkpoint directory missing; hint: list the tags in " + (dir_ / "extra").string());

  write_config(dir_ / "hf", spec);
  io::save_safetensors(dir_ / "hf" / "model.safetensors", lm.optimizer->model_state());
  EXPECT_EQ(error_of(dir_ / "hf", {.tag = "global_step1"}),
            (dir_ / "hf").string() + ": a tag was given for a Hugging Face model directory (got global_step1); "
                                     "expected no tag; hint: tags name ds training checkpoints");
}

}  // namespace
}  // namespace ds::engine::checkpoint
