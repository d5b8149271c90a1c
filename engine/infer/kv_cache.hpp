#pragma once
// The paged KV cache (vLLM's PagedAttention layout, Kwon et al. 2023): per layer one key and
// one value tensor of num_blocks x block_size token slots, preallocated once; a sequence owns a
// table of block ids, so its history need not be contiguous and memory is freed block by block.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/infer/block_allocator.hpp"
#include "engine/model/attention.hpp"
#include "estimators/model_spec.hpp"

namespace ds::engine::infer {

/// Bytes one block takes over all layers (keys and values) for `spec` in `dtype`.
std::int64_t kv_block_bytes(const estimators::ModelSpec& spec, std::int64_t block_size, torch::ScalarType dtype);

/// The key and value storage: [num_blocks * block_size, kv_heads, head_dim] per layer.
class KvCache {
 public:
  KvCache(const estimators::ModelSpec& spec, std::int64_t num_blocks, std::int64_t block_size,
          torch::ScalarType dtype, torch::Device device);

  std::int64_t block_size() const { return block_size_; }
  torch::Tensor& keys(std::int64_t layer) { return keys_[static_cast<std::size_t>(layer)]; }
  torch::Tensor& values(std::int64_t layer) { return values_[static_cast<std::size_t>(layer)]; }

 private:
  std::int64_t block_size_;
  std::vector<torch::Tensor> keys_, values_;
};

/// One sequence's part of a packed forward.
struct SequenceSlice {
  std::int64_t past_tokens = 0;             ///< tokens already in the cache
  std::int64_t new_tokens = 0;              ///< tokens this forward adds (packed in order)
  const std::vector<std::int32_t>* blocks;  ///< its block table, covering past + new tokens
};

/// KvAttention over a KvCache for one packed forward: writes each new token's key and value to
/// its slot, then runs attention per sequence over its cached history.
class PagedAttention : public model::KvAttention {
 public:
  PagedAttention(KvCache& cache, const std::vector<SequenceSlice>& slices, model::AttentionImpl impl,
                 torch::Device device);

  torch::Tensor attend(std::int64_t layer, const torch::Tensor& q, const torch::Tensor& k,
                       const torch::Tensor& v) override;

 private:
  /// Attention of the decode-only sequences (one new token each) in one batched product over
  /// their histories padded to the longest: [1, H, N, d] rows at decode_rows_ filled in `out`.
  void attend_decodes(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values,
                      torch::Tensor& out) const;

  KvCache& cache_;
  model::AttentionImpl impl_;
  torch::Tensor write_slots_;                ///< [N] slot of every packed token
  // Sequences with several new tokens (prefill chunks), one by one:
  std::vector<torch::Tensor> read_slots_;    ///< slots of positions 0 .. past + new - 1
  std::vector<std::int64_t> starts_, lengths_;
  // Decode-only sequences, batched:
  torch::Tensor decode_rows_;                ///< [D] their packed token indices
  torch::Tensor decode_slots_;               ///< [D, L] history slots, padded to the longest (L)
  torch::Tensor decode_padding_;             ///< [D, 1, 1, L] true past each one's history
};

}  // namespace ds::engine::infer
