#pragma once
// How the next token is chosen for one request: OpenAI's and vLLM's parameters, with their
// defaults. Torch-free so the server can parse into it without LibTorch headers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ds::engine::serve {

struct SamplingParams {
  double temperature = 1.0;          ///< 0 = greedy (argmax)
  std::int64_t top_k = 0;            ///< keep the k most likely tokens; 0 = all
  double top_p = 1.0;                ///< nucleus: smallest set with cumulative probability >= top_p
  double min_p = 0.0;                ///< drop tokens below min_p x the top token's probability
  double repetition_penalty = 1.0;   ///< CTRL-style: logits of seen tokens divided (>0) or multiplied (<0) by it
  double presence_penalty = 0.0;     ///< OpenAI: subtracted once from every generated token's logit
  double frequency_penalty = 0.0;    ///< OpenAI: subtracted per occurrence in the generated text
  std::optional<std::uint64_t> seed; ///< same seed, same prompt, same params -> same tokens
  std::int64_t max_tokens = 16;      ///< generated tokens at most (OpenAI completions' default)
  std::vector<std::string> stop;     ///< generation ends before any of these strings (not returned)
  std::vector<std::uint32_t> stop_token_ids;  ///< generation ends after any of these ids (not returned as text)
  bool ignore_eos = false;           ///< keep going past the end-of-sequence token
  /// Logprobs of the chosen token plus this many alternatives per position; nullopt = none.
  std::optional<std::int64_t> logprobs;
};

}  // namespace ds::engine::serve
