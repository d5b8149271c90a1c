// Sampler: greedy, seeds, top-k/top-p/min-p, HF and OpenAI penalties, logprobs, and the
// distribution of draws at temperature 1.
#include "engine/infer/sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace ds::engine::infer {
namespace {

serve::SamplingParams params(double temperature, std::optional<std::uint64_t> seed = 1) {
  serve::SamplingParams p;
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

std::uint32_t draw(Sampler& s, std::vector<float> logits) { return s.sample(logits).id; }

const std::vector<float> kLogits{0.5f, 2.0f, -1.0f, 1.9f, 0.0f, 1.0f};  // argmax 1, runner-up 3

TEST(Sampler, TemperatureZeroIsArgmax) {
  Sampler s(params(0.0));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(draw(s, kLogits), 1u);
  std::vector<float> other{3.0f, -2.0f, 4.5f};
  EXPECT_EQ(draw(s, other), 2u);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  const std::vector<float> flat(50, 0.0f);
  auto run = [&](std::uint64_t seed) {
    Sampler s(params(1.0, seed));
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < 40; ++i) ids.push_back(draw(s, flat));
    return ids;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));  // equal by chance with probability 50^-40
  const auto ids = run(7);
  EXPECT_GT(std::set<std::uint32_t>(ids.begin(), ids.end()).size(), 10u);  // really random
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  for (double t : {0.5, 1.0, 5.0, 100.0}) {
    auto p = params(t, 3);
    p.top_k = 1;
    Sampler s(p);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(draw(s, kLogits), 1u) << "temperature " << t;
  }
}

TEST(Sampler, TopKKeepsOnlyTheKMostLikely) {
  auto p = params(100.0, 5);  // nearly flat
  p.top_k = 2;
  Sampler s(p);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(draw(s, kLogits));
  EXPECT_EQ(seen, (std::set<std::uint32_t>{1, 3}));
}

TEST(Sampler, TinyTopPIsArgmax) {
  auto p = params(1.0, 9);
  p.top_p = 1e-6;
  Sampler s(p);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(draw(s, kLogits), 1u);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingTheMass) {
  // probabilities 0.5, 0.3, 0.2 (log): top_p 0.75 keeps the first two.
  const std::vector<float> logits{std::log(0.2f), std::log(0.5f), std::log(0.3f)};
  auto p = params(1.0, 11);
  p.top_p = 0.75;
  Sampler s(p);
  std::map<std::uint32_t, int> counts;
  for (int i = 0; i < 2000; ++i) ++counts[draw(s, logits)];
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_NEAR(counts[1] / 2000.0, 0.5 / 0.8, 0.04);
}

TEST(Sampler, MinPDropsTokensBelowTheFraction) {
  // probabilities 0.4, 0.3, 0.2, 0.1: min_p 0.6 keeps p >= 0.24, i.e. tokens 0 and 1.
  const std::vector<float> logits{std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
  auto p = params(1.0, 13);
  p.min_p = 0.6;
  Sampler s(p);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 500; ++i) seen.insert(draw(s, logits));
  EXPECT_EQ(seen, (std::set<std::uint32_t>{0, 1}));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  // HF RepetitionPenaltyLogitsProcessor: seen token with logit 2.0 -> 2.0/2 = 1.0 < 1.5 (token 1
  // wins); seen token with logit -0.4 -> -0.8 < -0.6.
  auto p = params(0.0);
  p.repetition_penalty = 2.0;
  Sampler s(p);
  s.observe_prompt(0);
  EXPECT_EQ(draw(s, {2.0f, 1.5f}), 1u);
  Sampler neg(p);
  neg.observe_prompt(0);
  EXPECT_EQ(draw(neg, {-0.4f, -0.6f}), 1u);
  // Generated tokens count too: token 1 was just chosen, so 1.5 -> 0.75 < 1.0.
  EXPECT_EQ(draw(s, {0.0f, 1.5f, 1.0f}), 2u);
  // Applied once per token, not per occurrence: 4.0 / 2 = 2.0 > 1.9 even when seen twice.
  Sampler twice(p);
  twice.observe_prompt(0);
  twice.observe_prompt(0);
  EXPECT_EQ(draw(twice, {4.0f, 1.9f}), 0u);
}

TEST(Sampler, FrequencyAndPresencePenaltiesCountOutputTokensOnly) {
  auto p = params(0.0);
  p.frequency_penalty = 0.3;
  Sampler s(p);
  s.observe_prompt(0);  // the prompt is not penalised by OpenAI's penalties
  EXPECT_EQ(draw(s, {1.0f, 0.8f}), 0u);
  EXPECT_EQ(draw(s, {1.0f, 0.8f}), 1u);   // token 0 once: 1.0 - 0.3 = 0.7 < 0.8
  EXPECT_EQ(draw(s, {1.0f, 0.8f}), 0u);   // 0.7 vs 0.5
  EXPECT_EQ(draw(s, {1.0f, 0.8f}), 1u);   // token 0 twice: 0.4 < 0.5 (once per token would give 0.7)
}

TEST(Sampler, PresencePenaltyIsOncePerToken) {
  auto p = params(0.0);
  p.presence_penalty = 0.5;
  Sampler s(p);
  EXPECT_EQ(draw(s, {3.0f, 0.0f, 2.4f}), 0u);
  EXPECT_EQ(draw(s, {3.0f, 0.0f, 2.6f}), 2u);  // 2.5 < 2.6
  EXPECT_EQ(draw(s, {3.0f, 0.0f, 2.4f}), 0u);  // 2.5 vs 1.9; token 0 seen twice, still -0.5 only
  EXPECT_EQ(draw(s, {2.9f, 0.0f, 2.45f}), 0u);  // 2.4 vs 1.95
}

TEST(Sampler, LogprobsAreTheRawLogSoftmaxAndTopIsSorted) {
  auto p = params(0.7, 21);
  p.logprobs = 3;
  p.repetition_penalty = 1.5;  // logprobs describe the model's distribution, before penalties
  Sampler s(p);
  s.observe_prompt(1);
  std::vector<float> logits = kLogits;
  const auto tok = s.sample(logits);
  double max = -1e30, sum = 0;
  for (float l : kLogits) max = std::max<double>(max, l);
  for (float l : kLogits) sum += std::exp(l - max);
  auto logprob = [&](std::uint32_t id) { return kLogits[id] - max - std::log(sum); };
  ASSERT_TRUE(tok.logprob.has_value());
  EXPECT_NEAR(*tok.logprob, logprob(tok.id), 1e-9);
  ASSERT_EQ(tok.top.size(), 3u);
  const std::uint32_t expected_ids[] = {1, 3, 5};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(tok.top[i].id, expected_ids[i]);
    EXPECT_NEAR(tok.top[i].logprob, logprob(expected_ids[i]), 1e-9);
  }
}

TEST(Sampler, NoLogprobsUnlessAsked) {
  Sampler s(params(0.0));
  std::vector<float> logits = kLogits;
  const auto tok = s.sample(logits);
  EXPECT_FALSE(tok.logprob.has_value());
  EXPECT_TRUE(tok.top.empty());
}

TEST(Sampler, DrawsFollowTheSoftmaxAtTemperatureOne) {
  const std::vector<float> logits{1.0f, 0.0f, 2.0f, -1.0f, 0.5f};
  double sum = 0;
  for (float l : logits) sum += std::exp(l);
  Sampler s(params(1.0, 12345));
  constexpr int kDraws = 20000;
  std::vector<int> counts(logits.size());
  for (int i = 0; i < kDraws; ++i) ++counts[draw(s, logits)];
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double p = std::exp(logits[i]) / sum;
    // 5 standard deviations of a binomial proportion
    EXPECT_NEAR(counts[i] / static_cast<double>(kDraws), p, 5 * std::sqrt(p * (1 - p) / kDraws)) << "token " << i;
  }
}

TEST(Sampler, TemperatureSharpensTheDistribution) {
  const std::vector<float> logits{1.0f, 0.0f};
  Sampler s(params(0.5, 77));
  constexpr int kDraws = 20000;
  int zeros = 0;
  for (int i = 0; i < kDraws; ++i) zeros += draw(s, logits) == 0;
  const double p = 1.0 / (1.0 + std::exp(-2.0));  // softmax of logits / 0.5
  EXPECT_NEAR(zeros / static_cast<double>(kDraws), p, 5 * std::sqrt(p * (1 - p) / kDraws));
}

}  // namespace
}  // namespace ds::engine::infer
