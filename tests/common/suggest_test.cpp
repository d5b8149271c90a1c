#include "common/suggest.hpp"

#include <gtest/gtest.h>

namespace ds {

TEST(EditDistance, CountsInsertDeleteSubstitute) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("stage", "stgae"), 2u);
}

TEST(ClosestMatch, FindsTyposAndRejectsFarWords) {
  std::vector<std::string> keys = {"stage", "overlap_comm", "reduce_bucket_size", "allgather_bucket_size"};
  EXPECT_EQ(closest_match("stag", keys), "stage");
  EXPECT_EQ(closest_match("reduce_bucket_sise", keys), "reduce_bucket_size");
  EXPECT_FALSE(closest_match("zzzzzzzz", keys).has_value());
  EXPECT_EQ(did_you_mean("overlap_com", keys), "; did you mean 'overlap_comm'?");
  EXPECT_EQ(did_you_mean("qqqqqqqqqq", keys), "");
}

TEST(Nearest, OrdersByDistance) {
  std::vector<std::string> names = {"llama-2-7b", "llama-3-8b", "gpt2", "mistral-7b"};
  auto n = nearest("llama-3-7b", names, 2);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0], "llama-2-7b");
  EXPECT_EQ(n[1], "llama-3-8b");
}

}  // namespace ds
