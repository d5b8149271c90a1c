#include "engine/infer/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ds::engine::infer {
namespace {


/// log softmax of `logits` in double, for logprobs of the model's own distribution.
std::vector<double> log_softmax(const std::vector<float>& logits) {
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  const double log_sum = max + std::log(sum);
  std::vector<double> out(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<double>(logits[i]) - log_sum;
  return out;
}

}  // namespace

Sampler::Sampler(const serve::SamplingParams& params)
    : params_(params), rng_(params.seed ? *params.seed : std::random_device{}()) {}

void Sampler::observe_prompt(std::uint32_t id) { ++prompt_counts_[id]; }

serve::GeneratedToken Sampler::sample(std::vector<float>& logits) {
  std::vector<double> raw_logprobs;
  if (params_.logprobs) raw_logprobs = log_softmax(logits);
  const auto vocab = static_cast<std::int64_t>(logits.size());
  auto in_vocab = [&](std::uint32_t id) { return static_cast<std::int64_t>(id) < vocab; };

  if (params_.repetition_penalty != 1.0) {
    // CTRL (Keskar et al. 2019) as HF applies it: shrink positive logits, grow negative ones.
    auto penalise = [&](std::uint32_t id) {
      if (!in_vocab(id)) return;
      float& l = logits[id];
      l = l > 0 ? static_cast<float>(l / params_.repetition_penalty) : static_cast<float>(l * params_.repetition_penalty);
    };
    for (const auto& [id, n] : prompt_counts_) penalise(id);
    for (const auto& [id, n] : output_counts_) if (!prompt_counts_.count(id)) penalise(id);
  }
  // OpenAI: logit -= frequency_penalty * count + presence_penalty * (count > 0), output tokens only.
  for (const auto& [id, n] : output_counts_) {
    if (!in_vocab(id)) continue;
    logits[id] -= static_cast<float>(params_.frequency_penalty * static_cast<double>(n) + params_.presence_penalty);
  }

  std::uint32_t chosen = 0;
  if (params_.temperature <= 0.0) {
    chosen = static_cast<std::uint32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  } else {
    // Candidates sorted by logit, cut by top-k, then probabilities at this temperature.
    std::vector<std::uint32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0u);
    const auto k = params_.top_k > 0 ? std::min<std::int64_t>(params_.top_k, vocab) : vocab;
    auto by_logit = [&](std::uint32_t a, std::uint32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), by_logit);
    order.resize(static_cast<std::size_t>(k));
    std::vector<double> probs(order.size());
    const double top = logits[order[0]];
    double sum = 0.0;
    for (std::size_t i = 0; i < order.size(); ++i) {
      probs[i] = std::exp((static_cast<double>(logits[order[i]]) - top) / params_.temperature);
      sum += probs[i];
    }
    for (auto& p : probs) p /= sum;
    // min-p: relative to the most likely token's probability.
    std::size_t keep = probs.size();
    if (params_.min_p > 0.0) {
      const double floor = params_.min_p * probs[0];
      keep = static_cast<std::size_t>(std::find_if(probs.begin(), probs.end(), [&](double p) { return p < floor; }) - probs.begin());
      keep = std::max<std::size_t>(keep, 1);
    }
    // top-p: the smallest prefix whose mass reaches top_p.
    if (params_.top_p < 1.0) {
      double mass = 0.0;
      for (std::size_t i = 0; i < keep; ++i) {
        mass += probs[i];
        if (mass >= params_.top_p) { keep = i + 1; break; }
      }
    }
    const double kept_mass = std::accumulate(probs.begin(), probs.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
    const double u = std::uniform_real_distribution<double>(0.0, kept_mass)(rng_);
    double acc = 0.0;
    chosen = order[keep - 1];
    for (std::size_t i = 0; i < keep; ++i) {
      acc += probs[i];
      if (u < acc) { chosen = order[i]; break; }
    }
  }
  ++output_counts_[chosen];

  serve::GeneratedToken token;
  token.id = chosen;
  if (params_.logprobs) {
    token.logprob = raw_logprobs[chosen];
    const auto n = std::min<std::int64_t>(*params_.logprobs, vocab);
    std::vector<std::uint32_t> ids(raw_logprobs.size());
    std::iota(ids.begin(), ids.end(), 0u);
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(),
                      [&](std::uint32_t a, std::uint32_t b) { return raw_logprobs[a] > raw_logprobs[b]; });
    for (std::int64_t i = 0; i < n; ++i) token.top.push_back({ids[static_cast<std::size_t>(i)], raw_logprobs[ids[static_cast<std::size_t>(i)]]});
  }
  return token;
}

}  // namespace ds::engine::infer
