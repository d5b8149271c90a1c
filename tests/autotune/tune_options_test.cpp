#include "autotune/tune_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::SearchFlags;

TEST(TuneOptions, ParsesListsAndNamesTheFlagOnErrors) {
  auto model = ds::test::gpt2();
  auto cluster = ds::test::round_cluster(2);
  SearchFlags f;
  f.stages = "1, 3";
  f.micro_batches = "1,2,4";
  f.offload_optimizer = "none,cpu";
  f.checkpointing = "full";
  f.bucket_sizes = "5e7,2e8";
  f.global_batch = "64";
  auto o = ds::autotune::resolve_tune_options(f, model, cluster);
  EXPECT_EQ(o.space.stages, (std::vector<int>{1, 3}));
  EXPECT_EQ(o.space.micro_batches, (std::vector<std::int64_t>{1, 2, 4}));
  EXPECT_EQ(o.space.bucket_sizes, (std::vector<std::int64_t>{50'000'000, 200'000'000}));
  EXPECT_EQ(o.space.global_batch, 64);
  EXPECT_EQ(o.space.seq_len, 1024);  // GPT-2's n_positions

  // auto: ds's engine on a measured profile (where --measure runs ds train), DeepSpeed's on a preset.
  EXPECT_EQ(o.space.engine, ds::estimators::Engine::kDs);
  auto preset = cluster;
  preset.is_preset = true;
  EXPECT_EQ(ds::autotune::resolve_tune_options(f, model, preset).space.engine, ds::estimators::Engine::kDeepSpeed);
  f.engine = "deepspeed";
  EXPECT_EQ(ds::autotune::resolve_tune_options(f, model, cluster).space.engine, ds::estimators::Engine::kDeepSpeed);
  f.engine = "ds";
  EXPECT_EQ(ds::autotune::resolve_tune_options(f, model, preset).space.engine, ds::estimators::Engine::kDs);

  struct Case {
    SearchFlags flags;
    const char* message;
  };
  std::vector<Case> bad(7);
  bad[6].flags.engine = "torch";
  bad[6].message = "--engine: unknown value (got 'torch'); expected one of deepspeed, ds";
  bad[0].flags.stages = "0,4";
  bad[0].message = "--stages: not a ZeRO stage (got '4'); expected 0, 1, 2 or 3";
  bad[1].flags.micro_batches = "1,,2";
  bad[1].message = "--micro-batch: empty item in the list (got '1,,2'); expected comma-separated values, e.g. 1,2,4";
  bad[2].flags.micro_batches = "0";
  bad[2].message = "--micro-batch: not a whole number >= 1 (got '0'); expected integers >= 1, e.g. 1,2,4";
  bad[3].flags.objective = "speed";
  bad[3].message = "--objective: unknown objective (got 'speed'); expected throughput, memory or cost";
  bad[4].flags.global_batch = "64";
  bad[4].flags.grad_accums = "1,2";
  bad[4].message =
      "--grad-accum: cannot be combined with --global-batch; expected one of them; hint: with --global-batch the "
      "accumulation follows from micro-batch and dp";
  bad[5].flags.offload_optimizer = "none,gpu";
  bad[5].message = "--offload-optimizer: unknown value (got 'gpu'); expected one of none, cpu, nvme";
  for (const auto& c : bad) {
    try {
      ds::autotune::resolve_tune_options(c.flags, model, cluster);
      ADD_FAILURE() << "no error for " << c.message;
    } catch (const ds::UsageError& e) {
      EXPECT_EQ(std::string(e.what()).substr(0, std::string(c.message).size()), c.message);
    }
  }
}

TEST(TuneOptions, RepeatedStagesAreSearchedOnceAndTopMustBePositive) {
  SearchFlags f;
  f.stages = "3,1,3";
  EXPECT_EQ(ds::autotune::resolve_tune_options(f, ds::test::gpt2(), ds::test::round_cluster()).space.stages,
            (std::vector<int>{3, 1}));
  f.top_k = 0;
  try {
    ds::autotune::resolve_tune_options(f, ds::test::gpt2(), ds::test::round_cluster());
    FAIL() << "--top 0 was accepted";
  } catch (const ds::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--top"), std::string::npos) << e.what();
  }
}

}  // namespace
