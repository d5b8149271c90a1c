#include "engine/infer/kv_cache.hpp"

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "engine/model/layers.hpp"

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
  std::vector<std::int64_t> writes, decode_rows;
  std::vector<std::vector<std::int64_t>> decode_histories;
  std::int64_t start = 0;
  std::size_t longest = 0;
  for (const auto& s : slices) {
    const auto w = slots_of(*s.blocks, cache.block_size(), s.past_tokens, s.past_tokens + s.new_tokens);
    writes.insert(writes.end(), w.begin(), w.end());
    auto history = slots_of(*s.blocks, cache.block_size(), 0, s.past_tokens + s.new_tokens);
    if (s.new_tokens == 1) {
      decode_rows.push_back(start);
      longest = std::max(longest, history.size());
      decode_histories.push_back(std::move(history));
    } else {
      read_slots_.push_back(long_tensor(history, device));
      starts_.push_back(start);
      lengths_.push_back(s.new_tokens);
    }
    start += s.new_tokens;
  }
  write_slots_ = long_tensor(writes, device);
  if (decode_rows.empty()) return;
  // Pad every history to the longest with slot 0 (any valid slot): the padding mask hides it.
  std::vector<std::int64_t> padded;
  std::vector<std::uint8_t> padding;
  for (const auto& h : decode_histories) {
    padded.insert(padded.end(), h.begin(), h.end());
    padded.insert(padded.end(), longest - h.size(), 0);
    padding.insert(padding.end(), h.size(), 0);
    padding.insert(padding.end(), longest - h.size(), 1);
  }
  const auto d = static_cast<std::int64_t>(decode_histories.size());
  const auto l = static_cast<std::int64_t>(longest);
  decode_rows_ = long_tensor(decode_rows, device);
  decode_slots_ = long_tensor(padded, device).view({d, l});
  decode_padding_ = torch::tensor(padding, torch::kUInt8).to(torch::kBool).view({d, 1, 1, l}).to(device);
}

void PagedAttention::attend_decodes(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values,
                                    torch::Tensor& out) const {
  const auto d = decode_slots_.size(0);
  const auto l = decode_slots_.size(1);
  const auto heads = q.size(1);
  const auto kv_heads = keys.size(1);
  // [D * L, Hkv, hd] -> [D, Hkv, L, hd], then kv heads repeated for their query heads (HF's repeat_kv).
  auto k = keys.index_select(0, decode_slots_.flatten()).view({d, l, kv_heads, -1}).permute({0, 2, 1, 3});
  auto v = values.index_select(0, decode_slots_.flatten()).view({d, l, kv_heads, -1}).permute({0, 2, 1, 3});
  if (heads != kv_heads) {
    k = k.repeat_interleave(heads / kv_heads, 1);
    v = v.repeat_interleave(heads / kv_heads, 1);
  }
  auto qd = q[0].index_select(1, decode_rows_).permute({1, 0, 2}).unsqueeze(2);  // [D, H, 1, hd]
  const auto compute = model::compute_dtype(q.scalar_type());
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(qd, k.transpose(-2, -1)).to(compute) * scale;  // [D, H, 1, L]
  scores = scores.masked_fill(decode_padding_, -std::numeric_limits<double>::infinity());
  auto y = torch::matmul(torch::softmax(scores, -1).to(v.scalar_type()), v);   // [D, H, 1, hd]
  out[0].index_copy_(1, decode_rows_, y.squeeze(2).permute({1, 0, 2}).to(out.scalar_type()));
}

torch::Tensor PagedAttention::attend(std::int64_t layer, const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v) {
  auto& keys = cache_.keys(layer);
  auto& values = cache_.values(layer);
  // [1, Hkv, N, d] -> [N, Hkv, d], the cache's slot-major layout.
  keys.index_copy_(0, write_slots_, k[0].transpose(0, 1).to(keys.scalar_type()));
  values.index_copy_(0, write_slots_, v[0].transpose(0, 1).to(values.scalar_type()));
  auto out = torch::empty_like(q);
  if (decode_rows_.defined()) attend_decodes(q, keys, values, out);
  for (std::size_t s = 0; s < starts_.size(); ++s) {
    auto ks = keys.index_select(0, read_slots_[s]).transpose(0, 1).unsqueeze(0);  // [1, Hkv, ctx, d]
    auto vs = values.index_select(0, read_slots_[s]).transpose(0, 1).unsqueeze(0);
    auto qs = q.narrow(2, starts_[s], lengths_[s]);
    out.narrow(2, starts_[s], lengths_[s]).copy_(model::causal_attention_with_prefix(qs, ks, vs, impl_));
  }
  return out;
}

}  // namespace ds::engine::infer
