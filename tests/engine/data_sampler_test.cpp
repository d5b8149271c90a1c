#include "engine/data/sampler.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "engine/data/token_writer.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::data {
namespace {

namespace fs = std::filesystem;

class SamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Token i has id i % 1000, so a window's contents reveal its offset.
    std::vector<std::uint32_t> ids(1000);
    for (std::uint32_t i = 0; i < ids.size(); ++i) ids[i] = i;
    TokenFileMeta meta;
    meta.vocab_size = 1000;
    write_token_file(dir_ / "t.bin", ids, meta);
  }
  TokenFile open() { return TokenFile::open(dir_ / "t.bin"); }

  test::ScratchDir scratch_{"sampler"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(SamplerTest, OffsetsFollowSplitMix64) {
  // splitmix64 from state 0 first outputs 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4 (Vigna's
  // splitmix64.c); the offset is (x * (N - T)) >> 64. Values computed independently in Python.
  EXPECT_EQ(WindowSampler::window_offset(0, 0, 1ll << 32, 0), static_cast<std::int64_t>(0xe220a8397b1dcdafULL >> 32));
  EXPECT_EQ(WindowSampler::window_offset(0, 1, 1ll << 32, 0), static_cast<std::int64_t>(0x6e789e6aa1b965f4ULL >> 32));
  auto file = open();
  WindowSampler sampler(file, {.seq_len = 16, .micro_batch = 4, .seed = 1234});
  EXPECT_EQ(sampler.next_offsets(), (std::vector<std::int64_t>{718, 583, 198, 301}));
  EXPECT_EQ(sampler.next_offsets(), (std::vector<std::int64_t>{711, 679, 487, 223}));
}

TEST_F(SamplerTest, BatchesAreShiftedWindowsOfTheFile) {
  auto file = open();
  WindowSampler sampler(file, {.seq_len = 16, .micro_batch = 4, .seed = 1234});
  Batch batch = sampler.next();
  ASSERT_EQ(batch.input.sizes(), (std::vector<std::int64_t>{4, 16}));
  EXPECT_EQ(batch.input.dtype(), torch::kLong);
  EXPECT_TRUE(batch.input.is_contiguous() && batch.target.is_contiguous());
  std::vector<std::int64_t> starts = {718, 583, 198, 301};
  for (int r = 0; r < 4; ++r) {
    auto expected = torch::arange(starts[r], starts[r] + 16, torch::kLong);
    EXPECT_TRUE(torch::equal(batch.input[r], expected)) << "row " << r;
    EXPECT_TRUE(torch::equal(batch.target[r], expected + 1)) << "row " << r;
  }
}

TEST_F(SamplerTest, SameSeedSameStreamAndEveryOffsetReachable) {
  auto file = open();
  WindowSampler a(file, {.seq_len = 990, .micro_batch = 8, .seed = 7});
  WindowSampler b(file, {.seq_len = 990, .micro_batch = 8, .seed = 7});
  WindowSampler c(file, {.seq_len = 990, .micro_batch = 8, .seed = 8});
  std::set<std::int64_t> seen;
  bool differs = false;
  for (int step = 0; step < 50; ++step) {
    auto oa = a.next_offsets();
    EXPECT_EQ(oa, b.next_offsets());
    differs |= oa != c.next_offsets();
    seen.insert(oa.begin(), oa.end());
  }
  EXPECT_TRUE(differs);
  // N - T = 10 start offsets, 0..9: the last window ends exactly at the last token.
  EXPECT_EQ(seen, (std::set<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST_F(SamplerTest, ResumesExactlyFromSavedState) {
  auto file = open();
  WindowSampler straight(file, {.seq_len = 8, .micro_batch = 3, .seed = 99});
  WindowSampler first(file, {.seq_len = 8, .micro_batch = 3, .seed = 99});
  for (int i = 0; i < 5; ++i) {
    straight.next();
    first.next();
  }
  std::string saved = sampler_state_json(first.state());
  EXPECT_EQ(saved, R"({"seed":99,"step":5})");
  WindowSampler resumed(file, {.seq_len = 8, .micro_batch = 3, .seed = 99});
  resumed.restore(parse_sampler_state(saved, "ckpt/sampler.json"));
  for (int i = 0; i < 5; ++i) {
    Batch x = straight.next();
    Batch y = resumed.next();
    EXPECT_TRUE(torch::equal(x.input, y.input) && torch::equal(x.target, y.target)) << "step " << i;
  }
  EXPECT_EQ(straight.state(), resumed.state());
}

TEST_F(SamplerTest, RanksTakeDisjointSharesThatTogetherFormTheSingleRankBatch) {
  auto file = open();
  const int world = 3;
  WindowSampler single(file, {.seq_len = 8, .micro_batch = 2 * world, .seed = 5});
  std::vector<WindowSampler> ranks;
  for (int r = 0; r < world; ++r) ranks.emplace_back(file, SamplerOptions{8, 2, 5, r, world});
  for (int step = 0; step < 4; ++step) {
    std::vector<std::int64_t> joined;
    for (auto& rank : ranks) {
      auto o = rank.next_offsets();
      joined.insert(joined.end(), o.begin(), o.end());
    }
    EXPECT_EQ(joined, single.next_offsets()) << "step " << step;
  }
}

TEST_F(SamplerTest, BadOptionsAndStatesAreExplained) {
  auto file = open();
  auto error_of = [&](SamplerOptions o) -> std::string {
    try {
      WindowSampler s(file, o);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error_of({.seq_len = 1000}),
            dir_.string() + "/t.bin: token file is too short for one training window (got 1000 tokens); expected at "
                            "least seq_len + 1 = 1001; hint: use a shorter sequence length or prepare more text");
  EXPECT_EQ(error_of({.seq_len = 8, .micro_batch = 1, .seed = 1, .rank = 2, .world_size = 2}),
            "data sampler: rank out of range (got 2); expected 0 <= rank < 2");
  EXPECT_EQ(error_of({.seq_len = 0}), "data sampler: sequence length must be positive (got 0); expected >= 1");
  WindowSampler s(file, {.seq_len = 8, .seed = 1});
  try {
    s.restore({2, 10});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "sampler state: seed differs from this run's data seed (got 2); expected 1; "
                                     "hint: resume with the seed the checkpoint was trained with");
  }
  try {
    parse_sampler_state(R"({"seed": 1})", "ckpt/sampler.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "ckpt/sampler.json: sampler state field 'step' is missing or not an unsigned "
                                     "integer; expected {\"seed\": N, \"step\": N}");
  }
}

}  // namespace
}  // namespace ds::engine::data
