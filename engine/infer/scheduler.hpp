#pragma once
// Continuous batching with Dynamic SplitFuse (DeepSpeed-FastGen; chunked prefill in vLLM): every
// forward pass has a token budget, filled first with one decode token per running sequence, then
// with chunks of prompts still prefilling, then with new sequences from the waiting queue, so a
// long prompt never stalls decoding. When the KV cache runs out the newest sequence is preempted
// (its blocks freed, recomputed later from its tokens) instead of deadlocking.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "engine/infer/block_allocator.hpp"
#include "engine/infer/sequence.hpp"

namespace ds::engine::infer {

struct SchedulerOptions {
  std::int64_t max_batch_tokens = 512;  ///< tokens per forward pass (decode + prefill chunks)
  std::int64_t max_running = 32;        ///< sequences holding KV blocks at once
};

/// One sequence's share of a forward pass.
struct ScheduledChunk {
  Sequence* seq = nullptr;
  std::int64_t past = 0;        ///< seq->computed before this pass
  std::int64_t new_tokens = 0;  ///< tokens [past, past + new_tokens) run this pass
  bool samples = false;         ///< the chunk reaches the last token: sample the next one
};

class Scheduler {
 public:
  Scheduler(BlockAllocator& blocks, SchedulerOptions options);

  /// Queues a sequence at the back of the waiting queue.
  void add(std::unique_ptr<Sequence> seq);
  /// The next forward pass; empty when there is nothing to run. Allocates the blocks the chunks
  /// need and may preempt. Chunks are in packing order; call committed() after the pass ran.
  std::vector<ScheduledChunk> schedule();
  /// Marks the chunks' tokens as cached.
  void committed(const std::vector<ScheduledChunk>& chunks);
  /// Removes and returns every sequence (running or waiting) for which `pred` holds, freeing its blocks.
  std::vector<std::unique_ptr<Sequence>> take_if(const std::function<bool(const Sequence&)>& pred);

  std::int64_t running() const { return static_cast<std::int64_t>(running_.size()); }
  std::int64_t waiting() const { return static_cast<std::int64_t>(waiting_.size()); }
  std::int64_t preemptions() const { return preemptions_; }
  bool idle() const { return running_.empty() && waiting_.empty(); }

 private:
  /// Gives `seq` blocks for its first `tokens` tokens; false (nothing allocated) if the pool is short.
  bool reserve(Sequence& seq, std::int64_t tokens);
  /// Tokens `seq` could hold with its blocks plus every free one.
  std::int64_t capacity(const Sequence& seq) const;
  /// Frees the newest running sequence not in `keep` and puts it at the front of the waiting queue.
  bool preempt_newest(const std::vector<const Sequence*>& keep);

  BlockAllocator& blocks_;
  SchedulerOptions options_;
  std::vector<std::unique_ptr<Sequence>> running_;  ///< oldest first
  std::deque<std::unique_ptr<Sequence>> waiting_;   ///< FIFO; preempted ones return to the front
  std::int64_t preemptions_ = 0;
};

}  // namespace ds::engine::infer
