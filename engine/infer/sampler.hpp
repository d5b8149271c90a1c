#pragma once
// Chooses the next token from a sequence's logits: penalties, temperature, top-k, top-p, min-p,
// then a draw from the sequence's own random generator, so a seeded request gives the same
// tokens whatever else shares its batch.
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "engine/serve/generation.hpp"

namespace ds::engine::infer {

/// One sequence's sampling state.
class Sampler {
 public:
  /// Unseeded requests draw their seed from std::random_device.
  explicit Sampler(const serve::SamplingParams& params);

  /// Counts a prompt token (the repetition penalty applies to prompt and output, as in HF).
  void observe_prompt(std::uint32_t id);
  /// The next token from `logits` (fp32, one per vocabulary entry; modified in place), with its
  /// logprob and the top-n alternatives when the params ask for them; counts it as output.
  serve::GeneratedToken sample(std::vector<float>& logits);

 private:
  serve::SamplingParams params_;
  std::mt19937_64 rng_;
  std::unordered_map<std::uint32_t, std::int64_t> prompt_counts_, output_counts_;
};

}  // namespace ds::engine::infer
