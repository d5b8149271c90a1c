#include "engine/infer/block_allocator.hpp"

#include <string>

#include "common/error.hpp"

namespace ds::engine::infer {

BlockAllocator::BlockAllocator(std::int64_t num_blocks, std::int64_t block_size)
    : num_blocks_(num_blocks), block_size_(block_size), in_use_(static_cast<std::size_t>(num_blocks), false) {
  if (num_blocks < 1 || block_size < 1) {
    throw UsageError(format_error("kv cache", "needs at least one block of at least one token",
                                  std::to_string(num_blocks) + " blocks of " + std::to_string(block_size), "",
                                  "raise --kv-cache-mem"));
  }
  free_.reserve(static_cast<std::size_t>(num_blocks));
  for (auto b = static_cast<std::int32_t>(num_blocks) - 1; b >= 0; --b) free_.push_back(b);
}

std::optional<std::int32_t> BlockAllocator::allocate() {
  if (free_.empty()) return std::nullopt;
  const auto block = free_.back();
  free_.pop_back();
  in_use_[static_cast<std::size_t>(block)] = true;
  return block;
}

void BlockAllocator::free(std::int32_t block) {
  if (block < 0 || block >= num_blocks_ || !in_use_[static_cast<std::size_t>(block)]) {
    throw RuntimeError("kv cache: block " + std::to_string(block) + " freed but not allocated (internal error)");
  }
  in_use_[static_cast<std::size_t>(block)] = false;
  free_.push_back(block);
}

void BlockAllocator::free_all(std::vector<std::int32_t>& table) {
  for (auto b : table) free(b);
  table.clear();
}

}  // namespace ds::engine::infer
