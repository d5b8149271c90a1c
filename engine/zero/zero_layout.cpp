#include "engine/zero/zero_layout.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ds::engine::zero {

namespace {

void check_world(int world) {
  if (world < 1) throw UsageError(format_error("ZeRO", "the data-parallel size must be >= 1", std::to_string(world)));
}

}  // namespace

void ZeroLayout::add_bucket(ZeroBucket current) {
  if (current.slots.empty()) return;
  current.chunk = (current.size() + world_ - 1) / world_;
  current.padded = current.chunk * world_;
  current.partition_offset = partition_numel_;
  partition_numel_ += current.chunk;
  for (std::size_t slot : current.slots) bucket_of_[slot] = buckets_.size();
  buckets_.push_back(std::move(current));
}

ZeroLayout::ZeroLayout(const train::FlatLayout& layout, int world, std::int64_t bucket_elems)
    : flat_(layout), world_(world) {
  check_world(world);
  if (bucket_elems < 1) {
    throw UsageError(format_error("zero_optimization.reduce_bucket_size", "must be >= 1 element",
                                  std::to_string(bucket_elems)));
  }
  const auto& slots = layout.slots();
  bucket_of_.resize(slots.size());
  ZeroBucket current;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (current.slots.empty()) current.begin = current.end = slots[i].offset;
    current.end = slots[i].offset + slots[i].numel;
    current.slots.push_back(i);
    if (current.size() >= bucket_elems) {
      add_bucket(std::move(current));
      current = ZeroBucket{};
    }
  }
  add_bucket(std::move(current));
}

ZeroLayout::ZeroLayout(const train::FlatLayout& layout, int world, const std::vector<std::size_t>& bucket_slots)
    : flat_(layout), world_(world) {
  check_world(world);
  const auto& slots = layout.slots();
  bucket_of_.resize(slots.size());
  std::size_t next = 0;
  for (std::size_t count : bucket_slots) {
    if (count == 0) continue;
    if (next + count > slots.size()) break;
    ZeroBucket bucket;
    bucket.begin = slots[next].offset;
    bucket.end = slots[next + count - 1].offset + slots[next + count - 1].numel;
    for (std::size_t k = 0; k < count; ++k) bucket.slots.push_back(next + k);
    add_bucket(std::move(bucket));
    next += count;
  }
  if (next != slots.size()) {
    throw UsageError(format_error("ZeRO buckets", "the bucket sizes do not add up to the parameters",
                                  std::to_string(next), std::to_string(slots.size())));
  }
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
