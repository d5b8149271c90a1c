#pragma once
// The response side of OpenAI's API: completion and chat.completion objects, their streaming
// chunk forms (text_completion, chat.completion.chunk), logprobs in each API's shape, usage, and
// the error object. Built from the Generator's updates; knows nothing of HTTP.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/serve/generation.hpp"

namespace ds::engine::serve {

/// Which endpoint a response answers.
enum class Api { kCompletion, kChat };

struct ResponseOptions {
  Api api = Api::kCompletion;
  std::string id;            ///< "cmpl-..." or "chatcmpl-..." (new_response_id)
  std::int64_t created = 0;  ///< Unix seconds
  std::string model;         ///< the served model's id
  /// Alternatives per token when the request asked for logprobs; nullopt = no logprobs.
  std::optional<std::int64_t> logprobs;
  /// Text of an alternative token id, for logprobs (the chosen token's text comes in the update).
  std::function<std::string(std::uint32_t)> token_text;
};

/// A fresh id: "cmpl-" or "chatcmpl-" and 24 random hex digits.
std::string new_response_id(Api api);

/// OpenAI's finish_reason: "stop", "length"; a cancelled request says "abort" (as vLLM does).
const char* openai_finish_reason(FinishReason reason);

/// {"error": {"message", "type", "param", "code"}}; empty param and code become null.
nlohmann::ordered_json error_body(const std::string& message, const std::string& type, const std::string& param = {},
                                  const std::string& code = {});

/// JSON text safe for any token text: invalid UTF-8 (a token cut inside a character) is replaced
/// by U+FFFD instead of throwing.
std::string dump_json(const nlohmann::ordered_json& value);

/// One server-sent event: "data: <json>\n\n".
std::string sse_event(const nlohmann::ordered_json& value);
/// The stream's last event: "data: [DONE]\n\n".
extern const char* const kSseDone;

/// Turns the updates of one request into OpenAI's response objects: either chunks as they come
/// (streaming) or one object at the end.
class ResponseBuilder {
 public:
  explicit ResponseBuilder(ResponseOptions options);

  /// Streaming: the chunks for one update, in order (chat: a role chunk before the first
  /// content). Updates with nothing to say give none.
  std::vector<nlohmann::ordered_json> chunks(const GenerationUpdate& update);
  /// Streaming, stream_options.include_usage: the last chunk, empty choices plus usage.
  nlohmann::ordered_json usage_chunk() const;

  /// Non-streaming: takes one update into the whole response.
  void add(const GenerationUpdate& update);
  /// Non-streaming: the completion or chat.completion object, once the last update was added.
  nlohmann::ordered_json response() const;

 private:
  nlohmann::ordered_json envelope(const char* object) const;
  nlohmann::ordered_json usage() const;
  nlohmann::ordered_json logprobs_of(const std::vector<GeneratedToken>& tokens);
  void append_logprobs(nlohmann::ordered_json& into, const nlohmann::ordered_json& more) const;

  ResponseOptions options_;
  bool role_sent_ = false;
  std::size_t text_offset_ = 0;  ///< bytes of completion text before the next token (text_offset)
  std::string text_;
  nlohmann::ordered_json logprobs_;  ///< accumulated for the non-streaming response
  std::optional<FinishReason> finish_;
  std::int64_t prompt_tokens_ = 0;
  std::int64_t completion_tokens_ = 0;
};

}  // namespace ds::engine::serve
