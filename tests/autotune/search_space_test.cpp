#include "autotune/search_space.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/error.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::Layout;
using ds::autotune::parallel_layouts;
using ds::autotune::SearchSpace;
using ds::autotune::SearchSpaceOptions;
using ds::autotune::SkipCounts;
using ds::estimators::Checkpointing;
using ds::estimators::OffloadDevice;
using ds::estimators::Plan;

SearchSpaceOptions small_axes() {
  SearchSpaceOptions o;
  o.micro_batches = {1, 2};
  o.checkpointing = {Checkpointing::kNone};
  o.bucket_sizes = {500'000'000};
  o.seq_len = 1024;
  return o;
}

TEST(ParallelLayouts, FourGpusForGpt2) {
  // tp in {1,2,4} divides 4 GPUs, 12 heads and ffn 3072; pp divides 12 layers and 4/tp:
  // tp1: pp 1,2,4; tp2: pp 1,2; tp4: pp 1 -> 6 layouts.
  auto layouts = parallel_layouts(ds::test::gpt2(), ds::test::round_cluster(4));
  std::vector<Layout> expected = {{4, 1, 1}, {2, 1, 2}, {1, 1, 4}, {2, 2, 1}, {1, 2, 2}, {1, 4, 1}};
  EXPECT_EQ(layouts, expected);
}

TEST(ParallelLayouts, TpStaysInsideANodeAndDividesHeads) {
  auto cluster = ds::test::round_cluster(8);
  cluster.nodes = 2;  // 16 ranks, 8 per node: tp never 16
  auto model = ds::test::gpt2();
  for (const auto& l : parallel_layouts(model, cluster)) {
    EXPECT_LE(l.tp, 8);
    EXPECT_EQ(model.heads % l.tp, 0) << l.tp;  // 12 heads: tp 8 is out
    EXPECT_EQ(model.layers % l.pp, 0) << l.pp;
    EXPECT_EQ(l.dp * l.tp * l.pp, 16);
  }
  // tp 1, 2, 4 (8 does not divide 12 heads); pp 1, 2, 4 (8 and 16 do not divide 12 layers): 9.
  EXPECT_EQ(parallel_layouts(model, cluster).size(), 9u);
  EXPECT_EQ(parallel_layouts(model, cluster, /*max_tp=*/1, /*max_pp=*/1).size(), 1u);
}

TEST(ParallelLayouts, UlyssesKeepsWholeHeadsInsideANode) {
  auto model = ds::test::gpt2();  // 12 heads and kv-heads
  auto cluster = ds::test::round_cluster(4);
  // Off by default: the layouts of tp and pp alone.
  EXPECT_EQ(parallel_layouts(model, cluster, 1, 1), (std::vector<Layout>{{4, 1, 1, 1}}));
  // Up to a node: sp 2 and 4 (tp x sp divides 4 GPUs and 12 heads; sp divides seq 1024), never with pp.
  std::vector<Layout> expected = {{4, 1, 1, 1}, {2, 1, 2, 1}, {1, 1, 4, 1}, {2, 1, 1, 2}, {1, 1, 1, 4},
                                  {2, 2, 1, 1}, {1, 2, 2, 1}, {1, 2, 1, 2}, {1, 4, 1, 1}};
  EXPECT_EQ(parallel_layouts(model, cluster, 0, 0, /*max_sp=*/0, /*seq_len=*/1024), expected);
  // A sequence sp 4 does not divide; a cap of 2.
  for (const auto& l : parallel_layouts(model, cluster, 1, 1, 0, 1022)) EXPECT_LE(l.sp, 2);
  for (const auto& l : parallel_layouts(model, cluster, 1, 1, 2, 1024)) EXPECT_LE(l.sp, 2);
  // 8 heads (ds-tiny has 4 heads, 2 kv-heads): sp 4 would split a kv-head.
  for (const auto& l : parallel_layouts(ds::estimators::load_model_spec("ds-tiny"), cluster, 1, 1, 0, 128)) {
    EXPECT_LE(l.sp, 2);
  }
}

TEST(SearchSpace, CountsByHand) {
  // 6 layouts (above) x 4 stages x 3 x 3 offloads x 2 micro-batches = 432 combinations.
  // Valid (stage, offload optimizer, offload param): stage 0: 1; stages 1, 2: none or cpu = 2
  // each; stage 3: 3 x 3 = 9; total 14 of 36. Layouts with pp > 1 (3 of them) allow stages 0
  // and 1 only: 3 valid. Plans = (3 x 14 + 3 x 3) x 2 micro-batches = 102.
  SearchSpace space(ds::test::gpt2(), ds::test::round_cluster(4), small_axes());
  EXPECT_EQ(space.raw_size(), 432);
  SkipCounts skipped;
  EXPECT_EQ(space.count(&skipped), 102);
  EXPECT_EQ(skipped.zero_offload, 6 * 22 * 2);    // 22 invalid offload combinations per layout
  EXPECT_EQ(skipped.pipeline_zero, 3 * 11 * 2);   // stage 2 (2) + stage 3 (9) on the 3 pp layouts
  EXPECT_EQ(skipped.global_batch, 0);
  EXPECT_EQ(skipped.total() + 102, space.raw_size());
}

TEST(SearchSpace, EveryPlanIsValidAndDistinct) {
  auto model = ds::test::gpt2();
  auto o = small_axes();
  o.checkpointing = {Checkpointing::kNone, Checkpointing::kFull};
  o.bucket_sizes = {50'000'000, 500'000'000};
  SearchSpace space(model, ds::test::round_cluster(4), o);
  std::set<std::string> seen;
  space.for_each([&](const Plan& p) {
    auto problems = ds::estimators::plan_problems(p, model, 4);
    EXPECT_TRUE(problems.empty()) << problems.front();
    if (p.pp > 1) EXPECT_LE(p.zero_stage, 1);
    std::string key = std::to_string(p.zero_stage) + std::to_string(static_cast<int>(p.offload_optimizer)) +
                      std::to_string(static_cast<int>(p.offload_param)) + std::to_string(p.dp) + std::to_string(p.tp) +
                      std::to_string(p.pp) + std::to_string(p.micro_batch) +
                      std::to_string(static_cast<int>(p.checkpointing)) + std::to_string(p.reduce_bucket_size);
    EXPECT_TRUE(seen.insert(key).second) << key;
  });
  EXPECT_EQ(seen.size(), 102u * 4);
}

TEST(SearchSpace, GlobalBatchSetsAccumulationAndSkipsWhatDoesNotDivide) {
  // 2 GPUs: layouts (dp,tp,pp) = (2,1,1), (1,1,2), (1,2,1). Stage 0 only, micro-batches
  // 1, 2, 3, 4, 8 and a global batch of 4 = micro_batch * dp * grad_accum:
  // dp 2: mb 1 -> ga 2, mb 2 -> ga 1; mb 3, 4, 8 skipped (6, 8, 16 do not divide 4).
  // dp 1 (twice): mb 1, 2, 4 -> ga 4, 2, 1; mb 3 and 8 skipped.
  auto o = small_axes();
  o.stages = {0};
  o.micro_batches = {1, 2, 3, 4, 8};
  o.global_batch = 4;
  SearchSpace space(ds::test::gpt2(), ds::test::round_cluster(2), o);
  ASSERT_EQ(space.layouts().size(), 3u);
  std::vector<std::pair<std::int64_t, std::int64_t>> mb_ga;
  SkipCounts skipped;
  space.for_each([&](const Plan& p) {
    EXPECT_EQ(p.micro_batch * p.grad_accum * p.dp, 4);
    if (p.dp == 2) mb_ga.emplace_back(p.micro_batch, p.grad_accum);
  }, &skipped);
  std::vector<std::pair<std::int64_t, std::int64_t>> expected = {{1, 2}, {2, 1}};
  EXPECT_EQ(mb_ga, expected);
  EXPECT_EQ(skipped.global_batch, 3 + 2 + 2);
  EXPECT_EQ(space.count(), 2 + 3 + 3);
}

TEST(SearchSpace, DsEngineTakesFullCheckpointingWhereZero3Recomputes) {
  auto o = small_axes();
  o.stages = {2, 3};
  o.offload_optimizer = {OffloadDevice::kNone};
  o.offload_param = {OffloadDevice::kNone};
  o.checkpointing = {Checkpointing::kNone, Checkpointing::kSelective, Checkpointing::kFull};
  o.max_tp = 1;
  o.max_pp = 1;
  o.engine = ds::estimators::Engine::kDs;
  // 2 ranks, dp 2: stage 2 keeps its 3 x 2 plans; stage 3 recomputes every block, so its 2
  // micro-batches come once each, as full, and the other 2 x 2 combinations are skipped.
  SearchSpace two(ds::test::gpt2(), ds::test::round_cluster(2), o);
  std::vector<std::pair<int, Checkpointing>> seen;
  SkipCounts skipped;
  two.for_each([&](const Plan& p) {
    EXPECT_EQ(p.engine, ds::estimators::Engine::kDs);
    seen.emplace_back(p.zero_stage, p.checkpointing);
  }, &skipped);
  ASSERT_EQ(seen.size(), 6u + 2u);
  EXPECT_EQ(seen[6], std::make_pair(3, Checkpointing::kFull));
  EXPECT_EQ(seen[7], std::make_pair(3, Checkpointing::kFull));
  EXPECT_EQ(skipped.engine_recompute, 4);
  EXPECT_EQ(skipped.total() + 8, two.raw_size());
  // One rank without offload: the single-process optimizer, every checkpointing value is a plan.
  EXPECT_EQ(SearchSpace(ds::test::gpt2(), ds::test::round_cluster(1), o).count(), 12);
  // DeepSpeed's engine checkpoints as the config says.
  o.engine = ds::estimators::Engine::kDeepSpeed;
  EXPECT_EQ(SearchSpace(ds::test::gpt2(), ds::test::round_cluster(2), o).count(), 12);
}

TEST(SearchSpace, RefusesEmptyAxesNamingTheFlag) {
  auto o = small_axes();
  o.micro_batches.clear();
  try {
    SearchSpace(ds::test::gpt2(), ds::test::round_cluster(4), o);
    FAIL() << "no error";
  } catch (const ds::UsageError& e) {
    EXPECT_STREQ(e.what(), "--micro-batch: no values to search (got an empty list); expected at least one value");
  }
}

TEST(SearchSpace, PrimeShapesLeaveOnlyDataParallel) {
  // 7 heads and 7 layers on 4 GPUs: no tp in {2, 4} divides the heads, no pp in {2, 4} the layers.
  auto model = ds::test::gpt2();
  model.layers = 7;
  model.heads = 7;
  model.kv_heads = 7;
  SearchSpace space(model, ds::test::round_cluster(4), small_axes());
  std::vector<Layout> expected = {{4, 1, 1}};
  EXPECT_EQ(space.layouts(), expected);
}

}  // namespace
