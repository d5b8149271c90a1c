// ZeroLayout: how ZeRO buckets whole parameters and splits each bucket into equal per-rank chunks.
#include "engine/zero/zero_layout.hpp"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "common/error.hpp"
#include "engine/train/flat_params.hpp"

namespace ds::engine::zero {
namespace {

train::FlatLayout layout_of(const std::vector<std::int64_t>& sizes) {
  std::vector<train::NamedTensor> params;
  for (std::size_t i = 0; i < sizes.size(); ++i) params.emplace_back("p" + std::to_string(i), torch::empty({sizes[i]}));
  return train::FlatLayout(params);
}

TEST(ZeroLayout, BucketsOfWholeParametersSplitIntoEqualChunks) {
  ZeroLayout z(layout_of({3, 4, 10, 2, 1}), 3, 6);
  // [3 + 4] reaches 6, [10] alone, [2 + 1] is the rest.
  ASSERT_EQ(z.buckets().size(), 3u);
  EXPECT_EQ(z.buckets()[0].begin, 0);
  EXPECT_EQ(z.buckets()[0].end, 7);
  EXPECT_EQ(z.buckets()[0].chunk, 3);
  EXPECT_EQ(z.buckets()[0].padded, 9);
  EXPECT_EQ(z.buckets()[1].chunk, 4);
  EXPECT_EQ(z.buckets()[2].chunk, 1);
  EXPECT_EQ(z.partition_numel(), 3 + 4 + 1);
  EXPECT_EQ(z.bucket_of(2), 1u);
  EXPECT_EQ(z.owned_range(0, 2), std::make_pair(std::int64_t{6}, std::int64_t{7}));  // short last chunk
  EXPECT_EQ(z.owned_range(1, 2), std::make_pair(std::int64_t{15}, std::int64_t{17}));
}

TEST(ZeroLayout, RanksCoverEveryElementExactlyOnce) {
  for (int world : {1, 2, 3, 4, 7}) {
    ZeroLayout z(layout_of({5, 17, 1, 64, 3, 9}), world, 20);
    std::vector<int> seen(z.flat().numel(), 0);
    for (int r = 0; r < world; ++r) {
      std::int64_t owned = 0;
      for (const OwnedPiece& p : z.pieces(r)) {
        const auto& slot = z.flat().slots()[p.slot];
        ASSERT_LE(p.param_offset + p.length, slot.numel);
        for (std::int64_t e = 0; e < p.length; ++e) ++seen[slot.offset + p.param_offset + e];
        owned += p.length;
      }
      EXPECT_LE(owned, z.partition_numel());
    }
    for (int count : seen) ASSERT_EQ(count, 1) << "world " << world;
  }
}

TEST(ZeroLayout, RejectsBadSizes) {
  EXPECT_THROW(ZeroLayout(layout_of({4}), 0, 10), UsageError);
  EXPECT_THROW(ZeroLayout(layout_of({4}), 2, 0), UsageError);
}

TEST(ZeroLayout, ExplicitBucketsFollowTheGivenParameterCounts) {
  ZeroLayout z(layout_of({3, 4, 10, 2, 1}), 2, std::vector<std::size_t>{1, 2, 2});
  ASSERT_EQ(z.buckets().size(), 3u);
  EXPECT_EQ(z.buckets()[0].size(), 3);
  EXPECT_EQ(z.buckets()[1].size(), 14);
  EXPECT_EQ(z.buckets()[2].size(), 3);
  EXPECT_EQ(z.bucket_of(4), 2u);
  EXPECT_EQ(z.partition_numel(), 2 + 7 + 2);
  EXPECT_THROW(ZeroLayout(layout_of({3, 4}), 2, std::vector<std::size_t>{1}), UsageError);
  EXPECT_THROW(ZeroLayout(layout_of({3, 4}), 2, std::vector<std::size_t>{1, 2}), UsageError);
}

}  // namespace
}  // namespace ds::engine::zero
