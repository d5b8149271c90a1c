#include "engine/infer/kv_cache.hpp"

#include "common/error.hpp"

namespace ds::engine::infer {

std::int64_t kv_block_bytes(const estimators::ModelSpec& spec, std::int64_t block_size, torch::ScalarType dtype) {
  return 2 * spec.layers * block_size * spec.kv_heads * spec.head_dim *
         static_cast<std::int64_t>(c10::elementSize(dtype));
}

KvCache::KvCache(const estimators::ModelSpec& spec, std::int64_t num_blocks, std::int64_t block_size,
                 torch::ScalarType dtype, torch::Device device)
    : block_size_(block_size) {
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  for (std::int64_t l = 0; l < spec.layers; ++l) {
    keys_.push_back(torch::zeros({num_blocks * block_size, spec.kv_heads, spec.head_dim}, options));
    values_.push_back(torch::zeros({num_blocks * block_size, spec.kv_heads, spec.head_dim}, options));
  }
}

namespace {

/// Slots of positions [from, to) of a sequence with block table `blocks`.
std::vector<std::int64_t> slots_of(const std::vector<std::int32_t>& blocks, std::int64_t block_size,
                                   std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> slots;
  slots.reserve(static_cast<std::size_t>(to - from));
  for (auto p = from; p < to; ++p) {
    const auto b = static_cast<std::size_t>(p / block_size);
    if (b >= blocks.size()) throw RuntimeError("kv cache: position " + std::to_string(p) + " has no block (internal error)");
    slots.push_back(static_cast<std::int64_t>(blocks[b]) * block_size + p % block_size);
  }
  return slots;
}

torch::Tensor long_tensor(const std::vector<std::int64_t>& v, torch::Device device) {
  return torch::tensor(v, torch::kLong).to(device);
}

}  // namespace

PagedAttention::PagedAttention(KvCache& cache, const std::vector<SequenceSlice>& slices, model::AttentionImpl impl,
                               torch::Device device)
    : cache_(cache), impl_(impl) {
  std::vector<std::int64_t> writes;
  std::int64_t start = 0;
  for (const auto& s : slices) {
    const auto w = slots_of(*s.blocks, cache.block_size(), s.past_tokens, s.past_tokens + s.new_tokens);
    writes.insert(writes.end(), w.begin(), w.end());
    read_slots_.push_back(long_tensor(slots_of(*s.blocks, cache.block_size(), 0, s.past_tokens + s.new_tokens), device));
    starts_.push_back(start);
    lengths_.push_back(s.new_tokens);
    start += s.new_tokens;
  }
  write_slots_ = long_tensor(writes, device);
}

torch::Tensor PagedAttention::attend(std::int64_t layer, const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v) {
  auto& keys = cache_.keys(layer);
  auto& values = cache_.values(layer);
  // [1, Hkv, N, d] -> [N, Hkv, d], the cache's slot-major layout.
  keys.index_copy_(0, write_slots_, k[0].transpose(0, 1).to(keys.scalar_type()));
  values.index_copy_(0, write_slots_, v[0].transpose(0, 1).to(values.scalar_type()));
  std::vector<torch::Tensor> outputs;
  outputs.reserve(starts_.size());
  for (std::size_t s = 0; s < starts_.size(); ++s) {
    auto ks = keys.index_select(0, read_slots_[s]).transpose(0, 1).unsqueeze(0);  // [1, Hkv, ctx, d]
    auto vs = values.index_select(0, read_slots_[s]).transpose(0, 1).unsqueeze(0);
    auto qs = q.narrow(2, starts_[s], lengths_[s]);
    outputs.push_back(model::causal_attention_with_prefix(qs, ks, vs, impl_));
  }
  return outputs.size() == 1 ? outputs[0] : torch::cat(outputs, 2);
}

}  // namespace ds::engine::infer
