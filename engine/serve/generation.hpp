#pragma once
// The contract between whoever asks for text (the HTTP server, `ds generate`) and the engine
// loop that produces it: a request in, a stream of updates out. Torch-free, and it knows nothing
// of HTTP; the engine loop knows nothing of the server.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/serve/sampling_params.hpp"

namespace ds::engine::serve {

/// Why a sequence ended (OpenAI's finish_reason: "stop", "length"; the others are ds's).
enum class FinishReason {
  kStop,       ///< end-of-sequence token, a stop token id or a stop string
  kLength,     ///< max_tokens reached, or the model's context is full
  kCancelled,  ///< the client went away or cancel() was called
  kError,      ///< the engine failed; GenerationUpdate::error says why
};

/// "stop", "length", "cancelled", "error".
const char* finish_reason_name(FinishReason reason);

struct GenerationRequest {
  std::vector<std::uint32_t> prompt;  ///< token ids, BOS included when the model wants one
  SamplingParams sampling;
};

/// The log-probability of one candidate token.
struct TokenLogprob {
  std::uint32_t id = 0;
  double logprob = 0.0;
};

/// One generated token.
struct GeneratedToken {
  std::uint32_t id = 0;
  std::string text;                  ///< its text alone (may be a partial UTF-8 sequence)
  std::optional<double> logprob;     ///< set when the request asked for logprobs
  std::vector<TokenLogprob> top;     ///< the request's top-n alternatives, most likely first
};

/// What happened to a request since the previous update.
struct GenerationUpdate {
  std::string text;                      ///< new text, safe to print: whole UTF-8 characters, stop strings cut
  std::vector<GeneratedToken> tokens;    ///< tokens produced since the previous update
  std::optional<FinishReason> finish;    ///< set on the last update of the request, and only there
  std::string error;                     ///< why, when finish is kError
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;    ///< generated so far
  double time_to_first_token_s = 0.0;    ///< on the first update that carries a token
};

/// The engine's side of one request, shared between the engine thread (push) and the caller
/// (next, cancel). Thread-safe.
class RequestStream {
 public:
  /// The next update; waits up to `timeout` and returns nullopt when none came.
  std::optional<GenerationUpdate> next(std::chrono::milliseconds timeout);
  /// Asks the engine to stop this request and free its KV blocks at its next step; a final
  /// update with FinishReason::kCancelled follows (unless the request had already finished).
  void cancel();
  bool cancelled() const;
  /// Engine side: queues an update for next().
  void push(GenerationUpdate update);
  /// True once the update carrying `finish` was pushed.
  bool finished() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<GenerationUpdate> updates_;
  bool cancelled_ = false;
  bool finished_ = false;
};

/// A snapshot for /metrics and /health.
struct EngineStats {
  std::int64_t running = 0;            ///< sequences holding KV blocks
  std::int64_t waiting = 0;            ///< admitted, not yet started (or preempted)
  std::int64_t kv_blocks_total = 0;
  std::int64_t kv_blocks_used = 0;
  std::int64_t requests_finished = 0;
  std::int64_t preemptions = 0;
  std::int64_t prompt_tokens = 0;      ///< processed since start
  std::int64_t generated_tokens = 0;   ///< since start
  std::int64_t forward_passes = 0;
};

/// What serves requests: the inference engine, or a fake in the server's tests.
class Generator {
 public:
  virtual ~Generator() = default;
  /// Queues a request. Throws RequestError 400 naming the field when it can never be served
  /// (prompt + max_tokens beyond the context or the whole KV cache) and 429 when the waiting
  /// queue is full.
  virtual std::shared_ptr<RequestStream> submit(GenerationRequest request) = 0;
  virtual EngineStats stats() const = 0;
  /// Tokens of prompt + completion the model can hold.
  virtual std::int64_t max_model_len() const = 0;
};

}  // namespace ds::engine::serve
