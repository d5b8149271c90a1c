#include "autotune/tune_history.hpp"

#include <gtest/gtest.h>

#include "estimators/estimate_json.hpp"
#include "profiles/store.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

using ds::autotune::TuneOptions;

TEST(TuneHistory, RunAndCandidatesRoundTrip) {
  ds::profiles::Store store(":memory:");
  auto model = ds::test::gpt2();
  auto cluster = ds::test::round_cluster(2);
  cluster.device_memory_bytes = 3.0 * 1024 * 1024 * 1024;  // some plans pruned
  TuneOptions o;
  o.space.micro_batches = {1, 2};
  o.space.bucket_sizes = {500'000'000};
  o.space.seq_len = 1024;
  o.top_k = 3;
  auto result = ds::autotune::tune(model, cluster, o);
  ds::autotune::TuneRunContext context{"gpt2", "fp-1", "out.json"};
  const auto id = ds::autotune::record_tune_run(store, model, cluster, o, result, context);
  ds::autotune::record_tune_run(store, model, cluster, o, result, {"gpt2", "fp-1", ""});

  auto runs = ds::autotune::list_tune_runs(store);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].id, id);  // newest first
  EXPECT_TRUE(runs[1].top.empty());
  auto run = ds::autotune::find_tune_run(store, id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->model, "gpt2");
  EXPECT_EQ(run->objective, "throughput");
  EXPECT_EQ(run->machine_fingerprint, "fp-1");
  EXPECT_EQ(run->config_path, "out.json");
  EXPECT_EQ(run->candidates, result.candidates);
  EXPECT_EQ(run->feasible, result.feasible);
  EXPECT_EQ(run->raw_combinations, result.raw_combinations);
  EXPECT_EQ(run->pruned, result.pruned);
  EXPECT_EQ(run->options_json["micro_batches"], nlohmann::json({1, 2}));
  ASSERT_EQ(run->top.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(run->top[i].rank, static_cast<int>(i) + 1);
    EXPECT_EQ(run->top[i].plan, ds::estimators::plan_json(result.top[i].plan));
    EXPECT_DOUBLE_EQ(run->top[i].tokens_per_s, result.top[i].cost.tokens_per_s);
    EXPECT_DOUBLE_EQ(run->top[i].terms["compute"].get<double>(),
                     result.top[i].cost.term(ds::autotune::CostTerm::kCompute));
  }
  EXPECT_FALSE(ds::autotune::find_tune_run(store, id + 100));
  EXPECT_NE(ds::autotune::render_run(*run).find("chose #1 -> out.json"), std::string::npos);
  EXPECT_EQ(ds::autotune::history_json(*run)["top"].size(), 3u);
}

TEST(TuneHistory, EmptyStoreSaysHowToFillIt) {
  ds::profiles::Store store(":memory:");
  EXPECT_EQ(ds::autotune::render_history(ds::autotune::list_tune_runs(store)),
            "no tuning runs stored yet; `ds tune --model ...` records one\n");
}

}  // namespace
