#include "engine/zero/zero_layout.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ds::engine::zero {

ZeroLayout::ZeroLayout(const train::FlatLayout& layout, int world, std::int64_t bucket_elems)
    : flat_(layout), world_(world) {
  if (world < 1) throw UsageError(format_error("ZeRO", "the data-parallel size must be >= 1", std::to_string(world)));
  if (bucket_elems < 1) {
    throw UsageError(format_error("zero_optimization.reduce_bucket_size", "must be >= 1 element",
                                  std::to_string(bucket_elems)));
  }
  const auto& slots = layout.slots();
  bucket_of_.resize(slots.size());
  ZeroBucket current;
  auto close = [&] {
    if (current.slots.empty()) return;
    current.chunk = (current.size() + world - 1) / world;
    current.padded = current.chunk * world;
    current.partition_offset = partition_numel_;
    partition_numel_ += current.chunk;
    buckets_.push_back(current);
    current = ZeroBucket{};
  };
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (current.slots.empty()) current.begin = current.end = slots[i].offset;
    current.end = slots[i].offset + slots[i].numel;
    current.slots.push_back(i);
    bucket_of_[i] = buckets_.size();
    if (current.size() >= bucket_elems) close();
  }
  close();
}

std::pair<std::int64_t, std::int64_t> ZeroLayout::owned_range(std::size_t b, int rank) const {
  const ZeroBucket& bucket = buckets_.at(b);
  std::int64_t first = std::min(bucket.end, bucket.begin + rank * bucket.chunk);
  std::int64_t last = std::min(bucket.end, first + bucket.chunk);
  return {first, last};
}

std::int64_t ZeroLayout::owned_numel(std::size_t b, int rank) const {
  auto [first, last] = owned_range(b, rank);
  return last - first;
}

std::vector<OwnedPiece> ZeroLayout::pieces(int rank) const {
  std::vector<OwnedPiece> out;
  const auto& slots = flat_.slots();
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    auto [first, last] = owned_range(b, rank);
    for (std::size_t s : buckets_[b].slots) {
      std::int64_t lo = std::max(first, slots[s].offset);
      std::int64_t hi = std::min(last, slots[s].offset + slots[s].numel);
      if (lo >= hi) continue;
      out.push_back({s, lo - slots[s].offset, buckets_[b].partition_offset + (lo - first), hi - lo});
    }
  }
  return out;
}

}  // namespace ds::engine::zero
