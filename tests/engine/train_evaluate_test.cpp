#include "engine/train/evaluate.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"
#include "engine/checkpoint/export_hf.hpp"
#include "engine/checkpoint/load_model.hpp"
#include "engine/data/token_file.hpp"
#include "tests/engine/lm_checkpoint_util.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::train {
namespace {

namespace fs = std::filesystem;

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ids_ = test::random_ids(1000, spec_.vocab);
    test::write_tokens(dir_ / "val.bin", ids_, spec_.vocab);
  }

  /// The mean over windows of next_token_loss on each window alone, written out plainly.
  double reference_loss(model::CausalLM& m, std::int64_t seq, std::int64_t windows) {
    torch::NoGradGuard no_grad;
    double sum = 0;
    for (std::int64_t w = 0; w < windows; ++w) {
      std::vector<std::int64_t> x(ids_.begin() + w * seq, ids_.begin() + w * seq + seq);
      std::vector<std::int64_t> y(ids_.begin() + w * seq + 1, ids_.begin() + w * seq + seq + 1);
      torch::Tensor logits = m.forward(torch::tensor(x).unsqueeze(0));
      sum += model::next_token_loss(logits, torch::tensor(y).unsqueeze(0)).item<double>();
    }
    return sum / static_cast<double>(windows);
  }

  std::string error_of(const EvalOptions& o, const fs::path& file) {
    try {
      evaluate(*model_, data::TokenFile::open(file), o);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  }

  test::ScratchDir scratch_{"evaluate"};
  const fs::path& dir_ = scratch_.path();
  estimators::ModelSpec spec_ = test::tiny_spec();
  std::shared_ptr<model::CausalLM> model_ = model::build_model(spec_, {.seed = 21});
  std::vector<std::uint32_t> ids_;
};

// 1000 tokens, seq 64: (1000 - 1) / 64 = 15 full windows scoring 960 targets; the 39 targets
// after them are the tail, not scored. Each window's loss is the mean over its 64 targets, so
// equal-length windows make the mean over windows the mean over tokens. Tolerance 1e-6
// relative: per-token losses are the same fp32 values, only the summation order differs.
TEST_F(EvaluateTest, MatchesPerWindowRecomputation) {
  auto file = data::TokenFile::open(dir_ / "val.bin");
  EvalResult r = evaluate(*model_, file, {.seq = 64, .batch = 4});
  EXPECT_EQ(r.seq, 64);
  EXPECT_EQ(r.windows, 15);
  EXPECT_EQ(r.tokens, 960);
  EXPECT_EQ(r.file_tokens, 1000);
  const double expected = reference_loss(*model_, 64, 15);
  EXPECT_NEAR(r.mean_loss, expected, 1e-6 * expected);
  EXPECT_DOUBLE_EQ(r.perplexity, std::exp(r.mean_loss));
  EXPECT_GT(r.mean_loss, 5.0);  // an untrained model over a 512-token vocabulary: about ln(512) = 6.24
  EXPECT_LT(r.mean_loss, 8.0);
  EXPECT_GT(r.tokens_per_s, 0);
}

TEST_F(EvaluateTest, BatchSizeDoesNotChangeTheResultAndRunsRepeatExactly) {
  auto file = data::TokenFile::open(dir_ / "val.bin");
  EvalResult one = evaluate(*model_, file, {.seq = 32, .batch = 1});
  EvalResult again = evaluate(*model_, file, {.seq = 32, .batch = 1});
  EXPECT_EQ(one.mean_loss, again.mean_loss);  // deterministic: bitwise
  for (std::int64_t batch : {3, 8, 31, 100}) {
    EvalResult b = evaluate(*model_, file, {.seq = 32, .batch = batch});
    EXPECT_EQ(b.windows, 31);
    EXPECT_NEAR(b.mean_loss, one.mean_loss, 1e-6 * one.mean_loss) << "batch " << batch;
  }
}

TEST_F(EvaluateTest, MaxWindowsTakesTheFirstWindows) {
  auto file = data::TokenFile::open(dir_ / "val.bin");
  std::vector<std::pair<std::int64_t, std::int64_t>> progress;
  EvalOptions o{.seq = 64, .max_windows = 4, .batch = 3};
  o.on_progress = [&](std::int64_t done, std::int64_t total) { progress.emplace_back(done, total); };
  EvalResult r = evaluate(*model_, file, o);
  EXPECT_EQ(r.windows, 4);
  EXPECT_EQ(r.tokens, 256);
  EXPECT_NEAR(r.mean_loss, reference_loss(*model_, 64, 4), 1e-6 * r.mean_loss);
  EXPECT_EQ(progress, (std::vector<std::pair<std::int64_t, std::int64_t>>{{3, 4}, {4, 4}}));
  EXPECT_EQ(evaluate(*model_, file, {.seq = 64, .max_windows = 1000}).windows, 15);  // capped at the file
}

TEST_F(EvaluateTest, DefaultWindowIsTheModelContextAndExactFitIsOneWindow) {
  test::write_tokens(dir_ / "129.bin", test::random_ids(129, spec_.vocab), spec_.vocab);
  EvalResult r = evaluate(*model_, data::TokenFile::open(dir_ / "129.bin"));
  EXPECT_EQ(r.seq, 128);  // ds-tiny's max_position_embeddings
  EXPECT_EQ(r.windows, 1);
  EXPECT_EQ(r.tokens, 128);
}

TEST_F(EvaluateTest, BadOptionsAndShortFilesAreExplained) {
  const fs::path file = dir_ / "val.bin";
  test::write_tokens(dir_ / "short.bin", test::random_ids(64, spec_.vocab), spec_.vocab);
  EXPECT_EQ(error_of({.seq = 64}, dir_ / "short.bin"),
            (dir_ / "short.bin").string() + ": too short for one window of --seq 64 (got 64 tokens); expected at "
                                            "least 65 tokens (seq + 1 for the shifted targets); hint: pass a "
                                            "smaller --seq");
  EXPECT_EQ(error_of({.seq = 1024}, file),
            "--seq: longer than the model's context (got 1024); expected 1 to 128 (ds-tiny)");
  EXPECT_EQ(error_of({.seq = -1}, file), "--seq: must be positive (got -1); expected 1 to 128 (ds-tiny)");
  EXPECT_EQ(error_of({.seq = 8, .batch = 0}, file), "--batch: must be positive (got 0); expected >= 1");
  EXPECT_EQ(error_of({.seq = 8, .max_windows = -2}, file),
            "--max-windows: must not be negative (got -2); expected >= 0 (0 = every window)");
}

TEST_F(EvaluateTest, TokensOutsideTheVocabularyAreNamed) {
  std::vector<std::uint32_t> ids = test::random_ids(200, spec_.vocab);
  ids[150] = 700;
  test::write_tokens(dir_ / "big.bin", ids, 1000);
  EXPECT_EQ(error_of({.seq = 16, .batch = 4}, dir_ / "big.bin"),
            (dir_ / "big.bin").string() + ": token 700 at index 150 is outside the model's vocabulary (got 700); "
                                          "expected ids below 512; hint: the file was tokenized for another model");
  // Windows before the bad token still evaluate.
  EXPECT_EQ(evaluate(*model_, data::TokenFile::open(dir_ / "big.bin"), {.seq = 16, .max_windows = 9}).windows, 9);
}

// The promise: a ds checkpoint and its Hugging Face export evaluate to the same number.
// Bitwise: both load the fp32 masters into identical models and run identical computations.
TEST_F(EvaluateTest, CheckpointAndItsHfExportGiveTheSameLoss) {
  test::TrainedLm lm = test::train_lm(spec_, Precision::kBf16, 3);
  test::save_lm(dir_ / "ckpt", lm, spec_, 3);
  checkpoint::export_hf(dir_ / "ckpt", dir_ / "hf");
  checkpoint::export_hf(dir_ / "ckpt", dir_ / "hf-bf16", {.dtype = torch::kBFloat16});
  auto file = data::TokenFile::open(dir_ / "val.bin");
  const EvalOptions o{.seq = 64, .batch = 4};
  for (torch::ScalarType dtype : {torch::kFloat, torch::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    auto from_ckpt = checkpoint::load_model(dir_ / "ckpt", {.dtype = dtype});
    auto from_hf = checkpoint::load_model(dir_ / "hf", {.dtype = dtype});
    const double loss = evaluate(*from_ckpt.model, file, o).mean_loss;
    EXPECT_EQ(evaluate(*from_hf.model, file, o).mean_loss, loss);
    if (dtype == torch::kBFloat16) {
      EXPECT_EQ(evaluate(*checkpoint::load_model(dir_ / "hf-bf16", {.dtype = dtype}).model, file, o).mean_loss, loss);
      EXPECT_EQ(evaluate(*lm.model, file, o).mean_loss, loss);  // the bf16 model the run trained
    }
  }
}

}  // namespace
}  // namespace ds::engine::train
