// BlockAllocator: the KV cache's pool of block ids.
#include "engine/infer/block_allocator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/error.hpp"

namespace ds::engine::infer {
namespace {

TEST(BlockAllocator, HandsOutEveryBlockOnceThenRunsOut) {
  BlockAllocator pool(4, 16);
  EXPECT_EQ(pool.num_free(), 4);
  std::set<std::int32_t> got;
  for (int i = 0; i < 4; ++i) {
    auto b = pool.allocate();
    ASSERT_TRUE(b.has_value());
    EXPECT_GE(*b, 0);
    EXPECT_LT(*b, 4);
    got.insert(*b);
    EXPECT_EQ(pool.num_used(), i + 1);
  }
  EXPECT_EQ(got.size(), 4u);
  EXPECT_FALSE(pool.allocate().has_value());
  EXPECT_EQ(pool.num_free(), 0);
}

TEST(BlockAllocator, FreedBlockIsReusedFirst) {
  BlockAllocator pool(3, 2);
  auto a = *pool.allocate();
  auto b = *pool.allocate();
  pool.free(a);
  EXPECT_EQ(pool.num_used(), 1);
  EXPECT_EQ(*pool.allocate(), a);
  pool.free(b);
  EXPECT_EQ(*pool.allocate(), b);
}

TEST(BlockAllocator, FreeAllReturnsTheTableAndClearsIt) {
  BlockAllocator pool(5, 4);
  std::vector<std::int32_t> table{*pool.allocate(), *pool.allocate(), *pool.allocate()};
  EXPECT_EQ(pool.num_free(), 2);
  pool.free_all(table);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(pool.num_free(), 5);
}

TEST(BlockAllocator, DoubleFreeAndForeignBlocksAreInternalErrors) {
  BlockAllocator pool(2, 4);
  auto a = *pool.allocate();
  pool.free(a);
  try {
    pool.free(a);
    FAIL() << "double free accepted";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "kv cache: block " + std::to_string(a) + " freed but not allocated (internal error)");
  }
  EXPECT_THROW(pool.free(2), RuntimeError);
  EXPECT_THROW(pool.free(-1), RuntimeError);
  EXPECT_EQ(pool.num_free(), 2);  // a refused free changes nothing
}

TEST(BlockAllocator, EmptyPoolIsAUsageError) {
  EXPECT_THROW(BlockAllocator(0, 16), UsageError);
  EXPECT_THROW(BlockAllocator(4, 0), UsageError);
}

TEST(BlockAllocator, BlocksForRoundsUp) {
  BlockAllocator pool(8, 16);
  EXPECT_EQ(pool.blocks_for(0), 0);
  EXPECT_EQ(pool.blocks_for(1), 1);
  EXPECT_EQ(pool.blocks_for(16), 1);
  EXPECT_EQ(pool.blocks_for(17), 2);
  EXPECT_EQ(pool.blocks_for(48), 3);
}

}  // namespace
}  // namespace ds::engine::infer
