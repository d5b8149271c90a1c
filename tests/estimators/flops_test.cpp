#include "estimators/flops.hpp"

#include <gtest/gtest.h>


namespace ds::estimators {
namespace {

TrainingFlops flops_of(const std::string& preset, std::int64_t seq) {
  ModelSpec spec = load_model_spec(preset);
  return training_flops(spec, count_params(spec), seq);
}

// nanoGPT's estimate_mfu for GPT-2 124M: N = params minus wpe (the tied wte stays in, as the
// lm_head product), 6N + 12 L H Q T with L=12, H=12, Q=64, T=1024.
TEST(TrainingFlops, Gpt2MatchesNanoGptFormula) {
  TrainingFlops f = flops_of("gpt2", 1024);
  EXPECT_EQ(f.matmul_params, 124'439'808 - 1024 * 768);
  EXPECT_DOUBLE_EQ(f.dense_per_token, 6.0 * 123'653'376);
  EXPECT_DOUBLE_EQ(f.attention_per_token, 12.0 * 12 * 12 * 64 * 1024);
  EXPECT_DOUBLE_EQ(f.per_token(), f.dense_per_token + f.attention_per_token);
}

// Untied Llama: the input embedding is a lookup, the separate lm_head a product.
TEST(TrainingFlops, Llama2ExcludesOnlyTheInputEmbedding) {
  TrainingFlops f = flops_of("llama-2-7b", 4096);
  EXPECT_EQ(f.matmul_params, 6'738'415'616LL - 32000LL * 4096);
  EXPECT_DOUBLE_EQ(f.attention_per_token, 12.0 * 32 * 4096 * 4096);
}

// Mixtral: only the routed experts (2 of 8) do work for a token.
TEST(TrainingFlops, MoeCountsActiveExpertsOnly) {
  ModelSpec spec = load_model_spec("mixtral-8x7b");
  ParamCount count = count_params(spec);
  TrainingFlops f = training_flops(spec, count, 4096);
  EXPECT_LT(f.matmul_params, count.total / 3);
  EXPECT_EQ(f.matmul_params, count.active_per_token - spec.vocab * spec.hidden);
}

TEST(TrainingFlops, AttentionTermGrowsLinearlyWithSequence) {
  EXPECT_DOUBLE_EQ(flops_of("ds-tiny", 256).attention_per_token, 2 * flops_of("ds-tiny", 128).attention_per_token);
  EXPECT_DOUBLE_EQ(flops_of("ds-tiny", 256).dense_per_token, flops_of("ds-tiny", 128).dense_per_token);
}

TEST(ModelFlopsUtilization, RatioOfAchievedToPeak) {
  EXPECT_DOUBLE_EQ(model_flops_utilization(1000.0, 1e9, 4e12), 0.25);
  EXPECT_EQ(model_flops_utilization(1000.0, 1e9, 0.0), 0.0);
}

}  // namespace
}  // namespace ds::estimators
