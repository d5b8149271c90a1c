#pragma once
// What the HTTP server needs to know about the model besides the Generator: its name, how to turn
// text and chat messages into token ids, and its generation defaults. Plain std::functions so the
// server does not depend on the tokenizer or chat-template libraries; `ds serve` fills them in.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/serve/sampling_params.hpp"

namespace ds::engine::serve {

struct ServedModel {
  /// The name clients send as "model" and see in /v1/models and in every response.
  std::string id;
  /// Unix time (seconds) reported as the model's "created" in /v1/models.
  std::int64_t created = 0;
  /// Text -> token ids. add_special_tokens: true for /v1/completions (BOS as the model wants it),
  /// false for rendered chat prompts, whose template writes the special tokens itself.
  std::function<std::vector<std::uint32_t>(const std::string& text, bool add_special_tokens)> encode;
  /// The text of one token id alone, for logprobs (may be a partial UTF-8 sequence).
  std::function<std::string(std::uint32_t id)> token_text;
  /// Chat messages (OpenAI shape, content already flattened to a string) -> prompt text through
  /// the model's chat template. `tools` is the request's "tools" array or null. May throw
  /// RequestError 400 (a template's raise_exception, say).
  std::function<std::string(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                            const nlohmann::ordered_json& tools)>
      render_chat;
  /// End-of-sequence ids: generation stops after any of them unless the request says ignore_eos.
  std::vector<std::uint32_t> eos_token_ids;
  /// Sampling defaults (the checkpoint's generation_config.json); request fields override them.
  SamplingParams default_sampling;
};

}  // namespace ds::engine::serve
