// A Generator for the server's tests: the "model" echoes the prompt's ids back, one token per
// update with a small sleep, and can be told to refuse (429/400), fail at once or mid-stream, or
// go slowly so a client can leave. Text <-> ids is one byte per token (fake_model()).
#pragma once
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "engine/serve/generation.hpp"
#include "engine/serve/served_model.hpp"

namespace ds::engine::serve::test {

class FakeGenerator : public Generator {
 public:
  // Knobs, set before requests arrive.
  // Atomic: tests change them while the server's threads read them.
  std::atomic<int> refuse_status{0};       ///< submit throws RequestError with this status
  std::atomic<int> fail_after_tokens{-1};  ///< push FinishReason::kError after this many tokens
  std::atomic<int> delay_ms{2};            ///< between tokens
  std::atomic<int> queue_ms{0};            ///< before the first token (queue and prefill)
  std::int64_t context = 4096;

  ~FakeGenerator() override {
    for (auto& t : threads_) t.join();
  }

  std::shared_ptr<RequestStream> submit(GenerationRequest request) override {
    if (refuse_status != 0) {
      throw RequestError(refuse_status.load() == 429 ? "server: too many requests waiting (got 8); expected at most 8"
                                              : "prompt: too long for the model",
                         refuse_status.load());
    }
    std::lock_guard lock(mutex_);
    last_request = request;
    ++submitted;
    auto stream = std::make_shared<RequestStream>();
    threads_.emplace_back([this, stream, request = std::move(request)] { produce(*stream, request); });
    return stream;
  }

  EngineStats stats() const override {
    return EngineStats{.running = 1,
                       .waiting = 2,
                       .kv_blocks_total = 100,
                       .kv_blocks_used = 25,
                       .preemptions = 3,
                       .prompt_tokens = 40,
                       .generated_tokens = 50};
  }

  std::int64_t max_model_len() const override { return context; }

  GenerationRequest last_request;  ///< read it once the request is answered
  std::atomic<int> submitted{0};
  std::atomic<int> cancelled{0};  ///< requests that saw cancel() before their end
  std::atomic<int> finished{0};   ///< requests that pushed their last update

 private:
  void produce(RequestStream& stream, const GenerationRequest& request) {
    const auto n =
        std::min<std::int64_t>(request.sampling.max_tokens, static_cast<std::int64_t>(request.prompt.size()));
    GenerationUpdate update;
    update.prompt_tokens = static_cast<std::int64_t>(request.prompt.size());
    for (int waited = 0; waited < queue_ms && !stream.cancelled(); waited += 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (std::int64_t i = 0; i < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      if (stream.cancelled()) {
        ++cancelled;
        update.finish = FinishReason::kCancelled;
        break;
      }
      if (i == fail_after_tokens) {
        update.finish = FinishReason::kError;
        update.error = "CUDA error: an illegal memory access was encountered";
        break;
      }
      const std::uint32_t id = request.prompt[static_cast<std::size_t>(i)];
      GeneratedToken token{id, std::string(1, static_cast<char>(id)), std::nullopt, {}};
      if (request.sampling.logprobs) {
        token.logprob = -0.5;
        for (std::int64_t k = 0; k < *request.sampling.logprobs; ++k)
          token.top.push_back({static_cast<std::uint32_t>('a' + k), -1.0 - k});
      }
      update.completion_tokens = i + 1;
      update.text = token.text;
      update.tokens = {token};
      stream.push(update);
    }
    if (!update.finish) update.finish = n == request.sampling.max_tokens ? FinishReason::kLength : FinishReason::kStop;
    update.text.clear();
    update.tokens.clear();
    stream.push(update);
    ++finished;
  }

  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

/// One byte per token: encode maps each byte to its id, token_text back; the chat template is
/// "role: content\n" per message.
inline ServedModel fake_model() {
  ServedModel m;
  m.id = "fake-model";
  m.created = 1700000000;
  m.encode = [](const std::string& text, bool) {
    std::vector<std::uint32_t> ids;
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  };
  m.token_text = [](std::uint32_t id) { return std::string(1, static_cast<char>(id)); };
  m.render_chat = [](const nlohmann::ordered_json& messages, bool, const nlohmann::ordered_json&) {
    std::string out;
    for (const auto& msg : messages) {
      out += msg["role"].get<std::string>() + ": " +
             (msg["content"].is_string() ? msg["content"].get<std::string>() : "") + "\n";
    }
    return out;
  };
  m.eos_token_ids = {0};
  return m;
}

}  // namespace ds::engine::serve::test
