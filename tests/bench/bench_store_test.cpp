#include "bench/bench_store.hpp"

#include <gtest/gtest.h>

#include "profiles/migrations.hpp"
#include "profiles/store.hpp"

namespace {

using namespace ds::bench;
using ds::profiles::Store;

CaseResult result(const std::string& name, Kind kind, std::vector<double> samples) {
  CaseResult r;
  r.name = name;
  r.suite = name.substr(0, name.find('/'));
  r.kind = kind;
  r.unit = kind == Kind::kBytes ? "bytes" : "s";
  r.higher_is_better = kind == Kind::kThroughput;
  r.samples = std::move(samples);
  r.runs = static_cast<int>(r.samples.size());
  r.median = r.samples.empty() ? 0 : r.samples[r.samples.size() / 2];
  r.spread = 0.25;
  r.stop_reason = "converged";
  r.elapsed_s = 1.5;
  return r;
}

BenchRun sample_run(const std::string& fingerprint, const std::string& created_at) {
  BenchRun run;
  run.created_at = created_at;
  run.ds_version = "0.1.0";
  run.git_commit = "abc1234";
  run.build_type = "Release";
  run.machine_fingerprint = fingerprint;
  run.machine = {{"cpu_model", "Test CPU"}, {"cpu_threads", 8}};
  run.selection = "core --filter tok";
  run.results = {result("core/a", Kind::kTime, {0.1, 0.2, 0.3}), result("core/b", Kind::kBytes, {1e9})};
  return run;
}

TEST(BenchStore, TablesAreSchemaStepFiveBench) {
  const auto& list = ds::profiles::schema_migrations();
  const auto it = std::find_if(list.begin(), list.end(), [](const auto& m) { return m.name == "bench"; });
  ASSERT_NE(it, list.end());
  EXPECT_EQ(it->version, 5);
  Store store(":memory:");
  EXPECT_GE(store.schema_version(), 5);
}

TEST(BenchStore, RunRoundTrip) {
  Store store(":memory:");
  const BenchRun run = sample_run("fp-1", "2026-01-02T03:04:05.678Z");
  const auto id = save_run(store, run);
  const auto back = load_run(store, id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, id);
  EXPECT_EQ(back->created_at, run.created_at);
  EXPECT_EQ(back->ds_version, "0.1.0");
  EXPECT_EQ(back->git_commit, "abc1234");
  EXPECT_EQ(back->build_type, "Release");
  EXPECT_EQ(back->machine_fingerprint, "fp-1");
  EXPECT_EQ(back->machine, run.machine);
  EXPECT_EQ(back->selection, run.selection);
  EXPECT_DOUBLE_EQ(back->injected_slowdown, 1);
  ASSERT_EQ(back->results.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& a = run.results[i];
    const auto& b = back->results[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.suite, a.suite);
    EXPECT_EQ(b.kind, a.kind);
    EXPECT_EQ(b.unit, a.unit);
    EXPECT_EQ(b.samples, a.samples);  // every sample, bit for bit (JSON round-trips doubles)
    EXPECT_DOUBLE_EQ(b.median, a.median);
    EXPECT_DOUBLE_EQ(b.spread, a.spread);
    EXPECT_EQ(b.runs, a.runs);
    EXPECT_EQ(b.stop_reason, a.stop_reason);
    EXPECT_DOUBLE_EQ(b.elapsed_s, a.elapsed_s);
  }
  EXPECT_FALSE(load_run(store, id + 1).has_value());
  // An empty created_at is "now".
  BenchRun fresh = sample_run("fp-1", "");
  EXPECT_EQ(load_run(store, save_run(store, fresh))->created_at.size(), 24u);
}

TEST(BenchStore, BaselinesNewestFirstAcrossMachines) {
  Store store(":memory:");
  const auto a = save_run(store, sample_run("fp-a", "2026-01-01T00:00:00.000Z"));
  const auto b = save_run(store, sample_run("fp-b", "2026-01-02T00:00:00.000Z"));
  const auto c = save_run(store, sample_run("fp-a", "2026-01-03T00:00:00.000Z"));
  save_baseline(store, "main", a);
  save_baseline(store, "main", b);
  save_baseline(store, "nightly", c);
  const auto runs = baseline_runs(store, "main");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].machine_fingerprint, "fp-b");  // saved last
  EXPECT_EQ(runs[1].machine_fingerprint, "fp-a");
  EXPECT_EQ(baseline_names(store), (std::vector<std::string>{"main", "nightly"}));
  EXPECT_TRUE(baseline_runs(store, "none").empty());
  EXPECT_THROW(save_baseline(store, "", a), ds::UsageError);
}

TEST(BenchStore, HistoryPerMachineOldestFirstWithoutInjectedRuns) {
  Store store(":memory:");
  save_run(store, sample_run("fp-a", "2026-01-01T00:00:00.000Z"));
  save_run(store, sample_run("fp-b", "2026-01-02T00:00:00.000Z"));
  BenchRun injected = sample_run("fp-a", "2026-01-03T00:00:00.000Z");
  injected.injected_slowdown = 2;
  save_run(store, injected);
  save_run(store, sample_run("fp-a", "2026-01-04T00:00:00.000Z"));
  const auto mine = case_history(store, "core/a", "fp-a");
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].created_at, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(mine[1].created_at, "2026-01-04T00:00:00.000Z");
  EXPECT_EQ(mine[1].result.samples, (std::vector<double>{0.1, 0.2, 0.3}));
  EXPECT_EQ(case_history(store, "core/a").size(), 3u);
  const auto newest = case_history(store, "core/a", "", 1);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].created_at, "2026-01-04T00:00:00.000Z");
  EXPECT_TRUE(case_history(store, "core/none").empty());
  EXPECT_EQ(latest_run_id(store, "fp-b"), 2);
  EXPECT_EQ(latest_run_id(store), 4);  // the injected run 3 is never "latest"
}

}  // namespace
