#include "engine/checkpoint/checkpoint_list.hpp"

#include <gtest/gtest.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;

CheckpointState state_at(std::int64_t step) {
  CheckpointState s;
  s.model = {{"w", torch::ones({step + 1})}};
  s.metadata.step = step;
  s.metadata.tokens = step * 1000;
  s.metadata.zero_stage = 2;
  s.metadata.precision = "bf16";
  return s;
}

TEST(CheckpointList, SummariesInStepOrderWithLatestMarked) {
  test::ScratchDir dir("ckpt-list");
  save_checkpoint(dir.path(), state_at(20));
  save_checkpoint(dir.path(), state_at(10), {.tag = "early"});  // saved last: 'latest' names it
  std::vector<CheckpointSummary> list = summarize_checkpoints(dir.path());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].metadata.tag, "early");
  EXPECT_EQ(list[0].metadata.step, 10);
  EXPECT_TRUE(list[0].latest);
  EXPECT_EQ(list[1].metadata.tag, "global_step20");
  EXPECT_EQ(list[1].metadata.tokens, 20000);
  EXPECT_EQ(list[1].metadata.zero_stage, 2);
  EXPECT_EQ(list[1].metadata.precision, "bf16");
  EXPECT_FALSE(list[1].latest);
  std::uintmax_t bytes = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "global_step20")) bytes += e.file_size();
  EXPECT_EQ(list[1].bytes, bytes);
  EXPECT_GT(list[1].bytes, list[0].bytes);  // 21 floats against 11

  // read_metadata takes the tag from the directory name, with or without a trailing slash.
  EXPECT_EQ(read_metadata(dir.path() / "early").tag, "early");
  EXPECT_EQ(read_metadata(dir.path().string() + "/early/").step, 10);
}

TEST(CheckpointList, ErrorsNameThePath) {
  test::ScratchDir dir("ckpt-list-errors");
  EXPECT_TRUE(summarize_checkpoints(dir.path()).empty());
  try {
    summarize_checkpoints(dir.path() / "nope");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), (dir.path() / "nope").string() +
                                         ": no such checkpoint directory; hint: pass the directory `ds train --out` "
                                         "wrote");
  }
  fs::create_directories(dir.path() / "bad");
  write_file_atomic(dir.path() / "bad" / "metadata.json", "{\"step\": 3}");
  try {
    summarize_checkpoints(dir.path());
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find((dir.path() / "bad" / "metadata.json").string() + ": malformed metadata"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ds::engine::checkpoint
