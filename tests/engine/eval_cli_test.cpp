// `ds eval` and `ds checkpoint list|export` end to end through the built binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/checkpoint/load_model.hpp"
#include "engine/data/token_file.hpp"
#include "engine/io/safetensors.hpp"
#include "engine/train/evaluate.hpp"
#include "tests/engine/lm_checkpoint_util.hpp"
#include "tests/engine/train_test_util.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::DsRun;
using test::run_ds;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

class EvalCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tokens(dir_ / "val.bin", test::random_ids(600, spec_.vocab), spec_.vocab);
    lm_ = test::train_lm(spec_, train::Precision::kBf16, 2);
    test::save_lm(ckpt_, lm_, spec_, 2);
    test::save_lm(ckpt_, lm_, spec_, 4);
  }

  test::ScratchDir scratch_{"eval-cli"};
  const fs::path& dir_ = scratch_.path();
  const fs::path ckpt_ = dir_ / "ckpt";
  estimators::ModelSpec spec_ = test::tiny_spec();
  test::TrainedLm lm_;
};

TEST_F(EvalCliTest, EvalOfCheckpointAndExportAgreeWithTheLibrary) {
  DsRun r = run_ds("eval --model " + q(ckpt_) + " --data " + q(dir_ / "val.bin") +
                   " --seq 64 --max-windows 5 --batch 2 --json");
  ASSERT_EQ(r.code, 0) << r.output();
  json j = json::parse(r.out);
  EXPECT_EQ(j["source"], "ds checkpoint");
  EXPECT_EQ(j["tag"], "global_step4");
  EXPECT_EQ(j["step"], 4);
  EXPECT_EQ(j["windows"], 5);
  EXPECT_EQ(j["tokens"], 320);
  EXPECT_EQ(j["file_tokens"], 600);
  auto loaded = checkpoint::load_model(ckpt_);
  auto lib = train::evaluate(*loaded.model, data::TokenFile::open(dir_ / "val.bin"),
                             {.seq = 64, .max_windows = 5, .batch = 2});
  EXPECT_DOUBLE_EQ(j["mean_loss"].get<double>(), lib.mean_loss);
  EXPECT_DOUBLE_EQ(j["perplexity"].get<double>(), lib.perplexity);

  r = run_ds("--json checkpoint export " + q(ckpt_) + " --hf " + q(dir_ / "hf"));
  ASSERT_EQ(r.code, 0) << r.output();
  json e = json::parse(r.out);
  EXPECT_EQ(e["tag"], "global_step4");
  EXPECT_EQ(e["from_fp32_master"], true);
  ASSERT_EQ(e["files"].size(), 2u);
  EXPECT_EQ(e["files"][1], (dir_ / "hf" / "config.json").string());
  r = run_ds("eval --model " + q(dir_ / "hf") + " --data " + q(dir_ / "val.bin") +
             " --seq 64 --max-windows 5 --batch 2 --json");
  ASSERT_EQ(r.code, 0) << r.output();
  json h = json::parse(r.out);
  EXPECT_EQ(h["source"], "hugging face");
  EXPECT_EQ(h["tag"], nullptr);
  EXPECT_EQ(h["mean_loss"], j["mean_loss"]);  // the same number, bitwise

  r = run_ds("eval --model " + q(ckpt_) + " --tag global_step2 --data " + q(dir_ / "val.bin") +
             " --seq 32 --max-windows 2 --dtype bf16");
  ASSERT_EQ(r.code, 0) << r.output();
  EXPECT_NE(r.out.find("perplexity"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 x 32 tokens"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("global_step2"), std::string::npos) << r.out;
}

TEST_F(EvalCliTest, EvalBadPathsExitWithUsageCode) {
  DsRun r = run_ds("eval --model " + q(dir_ / "missing") + " --data " + q(dir_ / "val.bin"));
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("ds: error: " + (dir_ / "missing").string() + ": no such file or directory"), std::string::npos)
      << r.err;
  r = run_ds("eval --model " + q(ckpt_) + " --data " + q(dir_ / "nope.bin"));
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find((dir_ / "nope.bin").string()), std::string::npos) << r.err;
  r = run_ds("eval --model " + q(ckpt_) + " --data " + q(dir_ / "val.bin") + " --seq 4096");
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("--seq: longer than the model's context (got 4096)"), std::string::npos) << r.err;
  r = run_ds("eval --model " + q(ckpt_) + " --data " + q(dir_ / "val.bin") + " --dtype fp8");
  EXPECT_EQ(r.code, 2) << r.output();
}

TEST_F(EvalCliTest, CheckpointListMarksLatest) {
  DsRun r = run_ds("--json checkpoint list " + q(ckpt_));
  ASSERT_EQ(r.code, 0) << r.output();
  json j = json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["tag"], "global_step2");
  EXPECT_EQ(j[0]["latest"], false);
  EXPECT_EQ(j[1]["tag"], "global_step4");
  EXPECT_EQ(j[1]["step"], 4);
  EXPECT_EQ(j[1]["tokens"], 256);
  EXPECT_EQ(j[1]["world_size"], 1);
  EXPECT_EQ(j[1]["zero_stage"], 0);
  EXPECT_EQ(j[1]["precision"], "bf16");
  EXPECT_EQ(j[1]["latest"], true);
  std::uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(ckpt_ / "global_step4")) bytes += e.is_regular_file() ? e.file_size() : 0;
  EXPECT_EQ(j[1]["bytes"], bytes);

  r = run_ds("checkpoint list " + q(ckpt_));
  ASSERT_EQ(r.code, 0) << r.output();
  EXPECT_NE(r.out.find("precision"), std::string::npos) << r.out;
  const auto line = r.out.find("global_step4");
  ASSERT_NE(line, std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(r.out.find('\n', line) - 1, 1), "*") << r.out;

  fs::create_directories(dir_ / "none");
  r = run_ds("checkpoint list " + q(dir_ / "none"));
  EXPECT_EQ(r.code, 0) << r.output();
  EXPECT_EQ(r.out, "no complete checkpoints in " + (dir_ / "none").string() + "\n");
  r = run_ds("checkpoint list " + q(dir_ / "missing"));
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("ds: error: " + (dir_ / "missing").string() + ": no such checkpoint directory"),
            std::string::npos)
      << r.err;
}

TEST_F(EvalCliTest, CheckpointExportOptions) {
  DsRun r = run_ds("checkpoint export " + q(ckpt_) + " --hf " + q(dir_ / "hf") +
                   " --tag global_step2 --dtype bf16 --max-shard-size 200KB");
  ASSERT_EQ(r.code, 0) << r.output();
  EXPECT_NE(r.out.find("exported global_step2 (step 2)"), std::string::npos) << r.out;
  io::SafetensorsReader reader(dir_ / "hf");
  EXPECT_GT(reader.files().size(), 1u);  // sharded
  EXPECT_EQ(reader.tensor("model.norm.weight").scalar_type(), torch::kBFloat16);

  // No model_config.json in the checkpoint: --model supplies config.json.
  test::save_lm(dir_ / "bare", lm_, spec_, 1, /*with_model_config=*/false);
  r = run_ds("checkpoint export " + q(dir_ / "bare") + " --hf " + q(dir_ / "hf2"));
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("has no model_config.json"), std::string::npos) << r.err;
  r = run_ds("checkpoint export " + q(dir_ / "bare") + " --hf " + q(dir_ / "hf2") + " --model ds-tiny");
  ASSERT_EQ(r.code, 0) << r.output();
  EXPECT_EQ(checkpoint::load_model(dir_ / "hf2").spec.hidden, spec_.hidden);

  r = run_ds("checkpoint export " + q(dir_ / "missing") + " --hf " + q(dir_ / "hf3"));
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find((dir_ / "missing").string() + ": no such checkpoint directory"), std::string::npos) << r.err;
  r = run_ds("checkpoint export " + q(ckpt_) + " --hf " + q(dir_ / "hf3") + " --max-shard-size lots");
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("--max-shard-size"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ds::engine
