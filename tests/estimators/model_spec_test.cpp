#include "estimators/model_spec.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "estimators/param_count.hpp"
#include "tests/support/error_of.hpp"

namespace ds::estimators {
namespace {

using test::error_of;

const std::string kData = std::string(DS_SOURCE_DIR) + "/tests/estimators/data/";

TEST(LoadModelSpec, TakesPresetFileOrDirectory) {
  EXPECT_EQ(load_model_spec("llama-2-7b").name, "llama-2-7b");
  EXPECT_EQ(load_model_spec(kData + "hf/gpt2/config.json").layers, 12);
  EXPECT_EQ(load_model_spec(kData + "hf/mixtral-8x7b").num_experts, 8);
}

TEST(LoadModelSpec, UnknownPresetListsTheNearest) {
  EXPECT_EQ(error_of<UsageError>([] { load_model_spec("llama-2-7", "--model"); }),
            "--model: unknown model preset (got 'llama-2-7'); expected a preset name, a config.json file or a "
            "directory holding one; hint: nearest presets: llama-2-7b, llama-2-70b, llama-2-13b; `ds estimate presets` "
            "lists them all");
  EXPECT_EQ(error_of<UsageError>([] { load_model_spec("no/such/config.json", "--model"); }),
            "--model: no such file or directory (got 'no/such/config.json'); expected a preset name, a config.json "
            "file or a directory holding one");
  EXPECT_EQ(error_of<UsageError>([] { load_model_spec(kData + "bad/empty_dir", "--model"); }),
            "--model: directory has no config.json (got '" + kData +
                "bad/empty_dir'); expected a directory holding a Hugging Face config.json");
}

TEST(RoughModel, LandsNearTheRequestedCount) {
  for (double target : {1.3e8, 1e9, 7e9, 7e10}) {
    ModelSpec spec = rough_model_spec({target, {}, {}, {}});
    double got = static_cast<double>(count_params(spec).total);
    EXPECT_NEAR(got / target, 1.0, 0.05) << target;
    EXPECT_EQ(spec.hidden % 128, 0);
  }
  // 7e9 alone: the Llama-2-7B aspect ratio gives 4096 x 32-ish.
  ModelSpec seven = rough_model_spec({7e9, {}, {}, {}});
  EXPECT_EQ(seven.hidden, 4096);
  EXPECT_EQ(seven.max_seq, 4096);
}

TEST(RoughModel, FixedShapeFitsTheMlpToTheCount) {
  ModelSpec spec = rough_model_spec({6738415616.0, 32, 4096, 2048});
  EXPECT_EQ(spec.layers, 32);
  EXPECT_EQ(spec.hidden, 4096);
  EXPECT_EQ(spec.ffn, 11008);  // recovers Llama-2-7B's MLP width from its exact count
  EXPECT_EQ(count_params(spec).total, 6738415616);
  EXPECT_EQ(spec.max_seq, 2048);
  ModelSpec deep = rough_model_spec({7e9, 64, {}, {}});
  EXPECT_EQ(deep.layers, 64);
  EXPECT_NEAR(static_cast<double>(count_params(deep).total) / 7e9, 1.0, 0.1);
}

TEST(RoughModel, RejectsCountsTooSmallForTheShape) {
  EXPECT_EQ(error_of<UsageError>([] { rough_model_spec({1e6, 32, 4096, {}}); }),
            "--params: too small for this shape (got 1.00 M); expected at least the embeddings and one block (329.28 M "
            "params at hidden 4096); hint: lower --hidden/--layers or raise --params");
  EXPECT_EQ(error_of<UsageError>([] { rough_model_spec({-1, {}, {}, {}}); }),
            "--params: must be positive (got -1.000000)");
}

}  // namespace
}  // namespace ds::estimators
