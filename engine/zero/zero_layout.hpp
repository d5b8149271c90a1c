#pragma once
// How ZeRO stages 1 and 2 split a model's flat parameter buffer across data-parallel ranks.
//
// The flat buffer (FlatLayout: parameters back to back in registration order) is cut into
// buckets of whole parameters, each at least `bucket_elems` elements (the last one may be
// smaller; a parameter larger than that is a bucket of its own). Every bucket is split into
// `world` equal chunks of ceil(size / world) elements; rank r owns chunk r of every bucket (the
// last chunks may be short or empty: the padding exists only in communication buffers). So one
// reduce-scatter per bucket leaves each rank the sum of exactly its chunk, and one all-gather per
// bucket rebuilds the bucket's parameters on every rank; buckets are what overlap with backward.
// A rank's owned elements, concatenated bucket by bucket, form its partition: the fp32 master,
// the optimizer states and the fp32 gradient it keeps (1/world of each, up to rounding).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/train/flat_params.hpp"

namespace ds::engine::zero {

struct ZeroBucket {
  std::int64_t begin = 0;          ///< first flat element
  std::int64_t end = 0;            ///< one past the last flat element
  std::int64_t chunk = 0;          ///< elements per rank: ceil((end - begin) / world)
  std::int64_t partition_offset = 0;  ///< where this bucket's chunk starts in a rank's partition
  std::vector<std::size_t> slots;  ///< parameters (FlatLayout slot indices) in this bucket
  std::int64_t padded = 0;         ///< chunk * world: the communication buffer's size
  std::int64_t size() const { return end - begin; }
};

/// A run of one parameter's elements inside a rank's partition.
struct OwnedPiece {
  std::size_t slot = 0;            ///< parameter (FlatLayout slot)
  std::int64_t param_offset = 0;   ///< first element within the parameter (flattened)
  std::int64_t partition_offset = 0;  ///< where it sits in the rank's partition
  std::int64_t length = 0;
};

class ZeroLayout {
 public:
  /// Throws UsageError when world < 1 or bucket_elems < 1.
  ZeroLayout(const train::FlatLayout& layout, int world, std::int64_t bucket_elems);
  /// Buckets given as parameter counts, in layout order (ZeRO-3: one bucket per transformer
  /// block, fetched and released as a unit). The counts must add up to the layout's slots.
  ZeroLayout(const train::FlatLayout& layout, int world, const std::vector<std::size_t>& bucket_slots);

  const train::FlatLayout& flat() const { return flat_; }
  const std::vector<ZeroBucket>& buckets() const { return buckets_; }
  int world() const { return world_; }
  /// Elements of one rank's partition (the same on every rank: sum of the chunks).
  std::int64_t partition_numel() const { return partition_numel_; }
  /// The bucket holding parameter `slot`.
  std::size_t bucket_of(std::size_t slot) const { return bucket_of_.at(slot); }
  /// Flat elements [first, second) of bucket `b` that `rank` owns; empty (first == second) when
  /// the bucket is too small to reach this rank.
  std::pair<std::int64_t, std::int64_t> owned_range(std::size_t b, int rank) const;
  /// Elements of bucket `b` that `rank` really owns (its chunk minus padding).
  std::int64_t owned_numel(std::size_t b, int rank) const;
  /// `rank`'s partition as runs of parameters, in partition order.
  std::vector<OwnedPiece> pieces(int rank) const;

 private:
  /// Closes `current` as the next bucket.
  void add_bucket(ZeroBucket current);

  train::FlatLayout flat_;
  int world_ = 1;
  std::vector<ZeroBucket> buckets_;
  std::vector<std::size_t> bucket_of_;
  std::int64_t partition_numel_ = 0;
};

}  // namespace ds::engine::zero
