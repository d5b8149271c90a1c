// Scheduler: Dynamic SplitFuse token budget, FIFO admission, preemption of the newest sequence.
// Torch-free: sequences are built by hand and "run" by marking their chunks committed.
#include "engine/infer/scheduler.hpp"

#include <gtest/gtest.h>

#include <map>

namespace ds::engine::infer {
namespace {

std::unique_ptr<Sequence> make_seq(std::uint64_t id, std::int64_t prompt) {
  auto seq = std::make_unique<Sequence>();
  seq->id = id;
  for (std::int64_t i = 0; i < prompt; ++i) seq->tokens.push_back(static_cast<std::uint32_t>(i));
  seq->prompt_tokens = prompt;
  return seq;
}

struct Chunk {
  std::uint64_t id;
  std::int64_t past, new_tokens;
  bool samples;
  bool operator==(const Chunk&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Chunk& c) {
  return os << "{seq " << c.id << " past " << c.past << " new " << c.new_tokens << (c.samples ? " samples}" : "}");
}

/// One pass: schedule, check the blocks cover the chunks, commit, append a token to sampled ones.
std::vector<Chunk> step(Scheduler& s, const BlockAllocator& pool) {
  auto chunks = s.schedule();
  std::vector<Chunk> out;
  for (const auto& c : chunks) {
    EXPECT_GE(static_cast<std::int64_t>(c.seq->blocks.size()) * pool.block_size(), c.past + c.new_tokens)
        << "seq " << c.seq->id << " has too few blocks";
    out.push_back({c.seq->id, c.past, c.new_tokens, c.samples});
  }
  s.committed(chunks);
  for (const auto& c : chunks) {
    EXPECT_EQ(c.seq->computed, c.past + c.new_tokens);
    if (c.samples) c.seq->tokens.push_back(7);
  }
  return out;
}

TEST(Scheduler, DecodesFirstThenPrefillChunksThenAdmissions) {
  BlockAllocator pool(64, 4);
  Scheduler s(pool, {.max_batch_tokens = 8, .max_running = 8});
  s.add(make_seq(1, 3));
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 0, 3, true}}));
  s.add(make_seq(2, 20));  // long prompt: chunked over passes
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 3, 1, true}, {2, 0, 7, false}}));
  s.add(make_seq(3, 2));
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 4, 1, true}, {2, 7, 7, false}}));
  EXPECT_EQ(s.waiting(), 1);
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 5, 1, true}, {2, 14, 6, true}, {3, 0, 1, false}}));
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 6, 1, true}, {2, 20, 1, true}, {3, 1, 1, true}}));
  EXPECT_EQ(s.preemptions(), 0);
}

TEST(Scheduler, LongPromptNeverStallsRunningDecodes) {
  BlockAllocator pool(256, 8);
  Scheduler s(pool, {.max_batch_tokens = 16, .max_running = 8});
  s.add(make_seq(1, 2));
  s.add(make_seq(2, 3));
  step(s, pool);
  s.add(make_seq(3, 500));
  std::int64_t prefilled = 0;
  for (int pass = 0; pass < 40; ++pass) {
    auto chunks = step(s, pool);
    ASSERT_GE(chunks.size(), 2u);
    EXPECT_EQ(chunks[0], (Chunk{1, 2 + pass, 1, true}));
    EXPECT_EQ(chunks[1], (Chunk{2, 3 + pass, 1, true}));
    std::int64_t total = 0;
    for (const auto& c : chunks) total += c.new_tokens;
    EXPECT_LE(total, 16);
    if (chunks.size() == 3 && chunks[2].past < 500) {
      EXPECT_EQ(chunks[2].id, 3u);
      EXPECT_EQ(chunks[2].past, prefilled);
      prefilled += chunks[2].new_tokens;
    }
  }
  EXPECT_EQ(prefilled, 500);  // 14 tokens a pass: done within 36 passes
}

TEST(Scheduler, MaxRunningCapsAdmissionsInArrivalOrder) {
  BlockAllocator pool(64, 4);
  Scheduler s(pool, {.max_batch_tokens = 100, .max_running = 2});
  for (std::uint64_t id = 1; id <= 4; ++id) s.add(make_seq(id, 2));
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 0, 2, true}, {2, 0, 2, true}}));
  EXPECT_EQ(s.running(), 2);
  EXPECT_EQ(s.waiting(), 2);
  auto done = s.take_if([](const Sequence& q) { return q.id == 1; });
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{2, 2, 1, true}, {3, 0, 2, true}}));
}

TEST(Scheduler, FifoAdmissionLaterSequencesDoNotOvertake) {
  BlockAllocator pool(3, 2);  // 6 tokens
  Scheduler s(pool, {.max_batch_tokens = 100, .max_running = 8});
  s.add(make_seq(1, 4));
  s.add(make_seq(2, 5));  // only 2 blocks left: gets a 2-token chunk
  s.add(make_seq(3, 1));  // would fit nowhere; must wait behind 2 anyway
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 0, 4, true}, {2, 0, 2, false}}));
  EXPECT_EQ(s.waiting(), 1);
}

TEST(Scheduler, FullPoolPreemptsTheNewestWhichResumesFirst) {
  BlockAllocator pool(3, 2);  // 6 tokens
  Scheduler s(pool, {.max_batch_tokens = 6, .max_running = 8});
  s.add(make_seq(1, 2));
  s.add(make_seq(2, 4));
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 0, 2, true}, {2, 0, 4, true}}));
  EXPECT_EQ(pool.num_free(), 0);
  s.add(make_seq(3, 1));
  // Seq 1's decode needs a second block: seq 2 (newest) yields, goes back to the FRONT of the
  // queue (before seq 3) with nothing cached, and is recomputed from its 5 tokens.
  const auto chunks = step(s, pool);
  EXPECT_EQ(s.preemptions(), 1);
  EXPECT_EQ(chunks, (std::vector<Chunk>{{1, 2, 1, true}, {2, 0, 2, false}}));
  EXPECT_EQ(s.waiting(), 1);  // seq 3
}

TEST(Scheduler, PreemptedSequenceLosesItsBlocks) {
  BlockAllocator pool(2, 2);
  Scheduler s(pool, {.max_batch_tokens = 4, .max_running = 8});
  s.add(make_seq(1, 2));
  s.add(make_seq(2, 2));
  step(s, pool);
  EXPECT_EQ(pool.num_free(), 0);
  // Both decode; seq 1 needs a block: seq 2 yields; nothing left for seq 2 to re-prefill.
  EXPECT_EQ(step(s, pool), (std::vector<Chunk>{{1, 2, 1, true}}));
  EXPECT_EQ(s.preemptions(), 1);
  EXPECT_EQ(s.running(), 1);
  EXPECT_EQ(s.waiting(), 1);
  auto waiting = s.take_if([](const Sequence& q) { return q.id == 2; });
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_TRUE(waiting[0]->blocks.empty());
  EXPECT_EQ(waiting[0]->computed, 0);
  EXPECT_EQ(waiting[0]->tokens.size(), 3u);  // its generated token is kept for the recompute
}

TEST(Scheduler, TakeIfFreesBlocksOfRunningAndWaiting) {
  BlockAllocator pool(16, 2);
  Scheduler s(pool, {.max_batch_tokens = 5, .max_running = 8});
  s.add(make_seq(1, 5));
  s.add(make_seq(2, 5));
  step(s, pool);
  EXPECT_EQ(pool.num_used(), 3);
  auto taken = s.take_if([](const Sequence&) { return true; });
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(pool.num_used(), 0);
  EXPECT_TRUE(s.idle());
  EXPECT_TRUE(s.schedule().empty());
}

TEST(Scheduler, TinyPoolEverySequenceFinishes) {
  // 8 sequences, a pool that holds barely more than the longest alone: lots of preemption.
  constexpr std::int64_t kMaxNew = 6;
  BlockAllocator pool(10, 2);  // 20 tokens; the longest needs 13 + 6 = 19
  Scheduler s(pool, {.max_batch_tokens = 5, .max_running = 4});
  std::map<std::uint64_t, std::int64_t> finished;  // id -> tokens at the end
  const std::int64_t prompts[] = {3, 13, 1, 7, 2, 9, 4, 11};
  for (std::uint64_t id = 0; id < 8; ++id) s.add(make_seq(id, prompts[id]));
  int passes = 0;
  while (!s.idle() && passes < 5000) {
    ++passes;
    auto chunks = step(s, pool);
    ASSERT_FALSE(chunks.empty()) << "pass " << passes << " ran nothing";
    for (auto& seq : s.take_if([](const Sequence& q) { return q.generated() >= kMaxNew; })) {
      EXPECT_EQ(seq->tokens.size(), static_cast<std::size_t>(seq->prompt_tokens + kMaxNew));
      finished[seq->id] = static_cast<std::int64_t>(seq->tokens.size());
    }
    EXPECT_LE(pool.num_used(), pool.num_blocks());
  }
  EXPECT_EQ(finished.size(), 8u) << "after " << passes << " passes, " << s.preemptions() << " preemptions";
  EXPECT_GT(s.preemptions(), 0);  // the pool really was too small
  EXPECT_EQ(pool.num_used(), 0);
}

}  // namespace
}  // namespace ds::engine::infer
