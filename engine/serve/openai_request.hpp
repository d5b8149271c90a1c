#pragma once
// The request bodies of POST /v1/completions and POST /v1/chat/completions, parsed into typed
// structs. Every field is checked for type and range; a wrong one throws RequestError 400 naming
// it (`temperature`, `messages[2].content`), never a silent default. Fields this server does not
// know are ignored, as OpenAI's clients send extras; fields whose meaning it cannot honour (n > 1,
// echo, best_of, logit_bias, suffix, images) are refused with 400 rather than dropped.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/serve/sampling_params.hpp"

namespace ds::engine::serve {

/// The sampling fields both endpoints share. Unset (absent or null) fields stay nullopt so the
/// model's generation_config defaults apply.
struct SamplingFields {
  std::optional<std::int64_t> max_tokens;    ///< max_tokens, or chat's max_completion_tokens
  std::optional<double> temperature;         ///< [0, 2]
  std::optional<double> top_p;               ///< (0, 1]
  std::optional<std::int64_t> top_k;         ///< >= -1; -1 and 0 mean all tokens
  std::optional<double> min_p;               ///< [0, 1]
  std::optional<double> presence_penalty;    ///< [-2, 2]
  std::optional<double> frequency_penalty;   ///< [-2, 2]
  std::optional<double> repetition_penalty;  ///< (0, 2]
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;  ///< at most 4 non-empty strings
  std::vector<std::uint32_t> stop_token_ids;
  bool ignore_eos = false;
  /// Alternatives per position when logprobs are asked for (completions: logprobs N; chat:
  /// top_logprobs N with logprobs true); nullopt = no logprobs.
  std::optional<std::int64_t> logprobs;
};

/// Fields of both endpoints that are not about sampling.
struct CommonFields {
  std::string model;  ///< as sent; empty when absent
  bool stream = false;
  bool include_usage = false;  ///< stream_options.include_usage: a last chunk with usage
};

struct CompletionRequest {
  CommonFields common;
  SamplingFields sampling;
  /// Exactly one of the two: text to encode, or token ids sent as they are.
  std::optional<std::string> prompt_text;
  std::vector<std::uint32_t> prompt_ids;
};

struct ChatRequest {
  CommonFields common;
  SamplingFields sampling;
  /// The messages for the chat template: each an object with "role" and "content" (a string:
  /// text parts joined with "\n", or null) plus whatever else the client sent (name, tool_calls,
  /// tool_call_id) passed through unchanged.
  nlohmann::ordered_json messages;
  nlohmann::ordered_json tools;       ///< the "tools" array, or null
  bool add_generation_prompt = true;  ///< vLLM's extension; false to continue the last message
};

/// Parses a /v1/completions body. Throws RequestError 400 naming the field.
CompletionRequest parse_completion_request(const nlohmann::json& body);

/// Parses a /v1/chat/completions body. Throws RequestError 400 naming the field.
ChatRequest parse_chat_request(const nlohmann::json& body);

/// The request's fields over `defaults` (the model's generation_config). max_tokens stays
/// `defaults.max_tokens` when the request has none; the caller decides (16 for completions, the
/// rest of the context for chat).
SamplingParams apply_sampling(const SamplingFields& fields, SamplingParams defaults);

}  // namespace ds::engine::serve
