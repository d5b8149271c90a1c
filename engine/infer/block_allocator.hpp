#pragma once
// The KV cache's bookkeeping: a pool of fixed-size blocks handed to sequences and taken back.
// Torch-free; kv_cache.hpp holds the tensors the block ids index.
#include <cstdint>
#include <optional>
#include <vector>

namespace ds::engine::infer {

/// Fixed pool of `num_blocks` block ids, each holding `block_size` tokens' keys and values.
class BlockAllocator {
 public:
  BlockAllocator(std::int64_t num_blocks, std::int64_t block_size);

  std::int64_t num_blocks() const { return num_blocks_; }
  std::int64_t block_size() const { return block_size_; }
  std::int64_t num_free() const { return static_cast<std::int64_t>(free_.size()); }
  std::int64_t num_used() const { return num_blocks_ - num_free(); }
  /// Blocks needed to hold `tokens` tokens.
  std::int64_t blocks_for(std::int64_t tokens) const { return (tokens + block_size_ - 1) / block_size_; }

  /// A free block, or nullopt when the pool is exhausted.
  std::optional<std::int32_t> allocate();
  /// Gives `block` back. Freeing a block that is not allocated is a logic error (RuntimeError).
  void free(std::int32_t block);
  /// Gives back every block of a sequence's table and clears it.
  void free_all(std::vector<std::int32_t>& table);

 private:
  std::int64_t num_blocks_;
  std::int64_t block_size_;
  std::vector<std::int32_t> free_;  ///< LIFO: a freed block is reused first, still warm in cache
  std::vector<bool> in_use_;
};

}  // namespace ds::engine::infer
