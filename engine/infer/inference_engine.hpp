#pragma once
// The inference engine: a model, a paged KV cache and a scheduler, run by one loop thread that
// serves every request submitted from any thread (Generator). Knows nothing of HTTP.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/checkpoint/load_model.hpp"
#include "engine/serve/generation.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace ds::engine::infer {

struct EngineOptions {
  std::int64_t block_size = 16;          ///< tokens per KV block
  std::int64_t kv_cache_bytes = 0;       ///< KV pool size; 0 = kv_cache_fraction of available memory
  double kv_cache_fraction = 0.3;        ///< of MemAvailable (CPU) or free device memory, when kv_cache_bytes is 0
  std::int64_t max_batch_tokens = 512;   ///< token budget of one forward pass (SplitFuse)
  std::int64_t max_running = 32;         ///< sequences decoding at once
  std::int64_t max_waiting = 256;        ///< queued requests beyond which submit() answers 429
  std::int64_t max_model_len = 0;        ///< prompt + completion tokens; 0 = the model's max positions
};

/// What the KV cache was sized to, for logs and `ds serve`'s banner.
struct KvCacheInfo {
  std::int64_t num_blocks = 0;
  std::int64_t block_size = 0;
  std::int64_t bytes = 0;
};

class InferenceEngine final : public serve::Generator {
 public:
  /// Takes the loaded model (eval mode) and a tokenizer for streaming text and stop strings.
  /// Starts the loop thread. Throws UsageError for options that cannot work (a KV cache smaller
  /// than one full-length sequence, a budget below one token).
  InferenceEngine(checkpoint::LoadedModel model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
                  const EngineOptions& options);
  /// Cancels what is still running and joins the loop.
  ~InferenceEngine() override;

  std::shared_ptr<serve::RequestStream> submit(serve::GenerationRequest request) override;
  serve::EngineStats stats() const override;
  std::int64_t max_model_len() const override { return max_model_len_; }
  const KvCacheInfo& kv_cache() const { return kv_info_; }
  /// Stops taking requests, cancels running ones (their streams get kCancelled) and joins.
  void shutdown();

 private:
  struct State;
  void loop();
  void step();

  checkpoint::LoadedModel model_;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
  EngineOptions options_;
  std::int64_t max_model_len_ = 0;
  KvCacheInfo kv_info_;
  std::unique_ptr<State> state_;  ///< the cache, allocator, scheduler: touched by the loop thread only

  mutable std::mutex mutex_;      ///< guards inbox_, stats_, stopping_
  std::condition_variable wake_;
  std::vector<std::unique_ptr<struct Sequence>> inbox_;
  serve::EngineStats stats_;
  bool stopping_ = false;
  std::uint64_t next_id_ = 0;
  std::thread thread_;
};

}  // namespace ds::engine::infer
