#include "profiles/bench_tables.hpp"

#include <gtest/gtest.h>

#include "profiles/store.hpp"
#include "tests/profiles/store_test_helpers.hpp"

namespace ds::profiles {
namespace {

using store_testing::column_list;
using store_testing::exec;
using store_testing::runtime_error_of;

// Only the bench step: its SQL must stand on its own (no table of another step referenced).
StoreOptions bench_only() {
  StoreOptions options;
  options.migrations = {{1, "bench", bench_tables_sql()}};
  return options;
}

const char* kRun =
    "INSERT INTO bench_runs (id, created_at, ds_version, git_commit, machine_fingerprint)"
    " VALUES (1, 't', '0.1.0', 'abc', 'fp')";
const char* kResult =
    "INSERT INTO bench_results (run_id, case_name, suite, kind, unit, median, spread, runs, samples_json)"
    " VALUES (1, 'core/a', 'core', 'time', 's', 0.2, 0.1, 3, '[0.1,0.2,0.3]')";

TEST(BenchTables, CreateRunsResultsBaselinesAndTheCaseIndex) {
  Store store(":memory:", bench_only());
  EXPECT_EQ(column_list(store, "SELECT name FROM sqlite_master WHERE name LIKE 'bench%' ORDER BY name"),
            "bench_baselines,bench_results,bench_results_by_case,bench_runs");
  EXPECT_EQ(column_list(store, "SELECT name FROM pragma_index_info('bench_results_by_case') ORDER BY seqno"),
            "case_name,run_id");
  EXPECT_EQ(column_list(store, "SELECT name FROM pragma_table_info('bench_results') WHERE pk > 0 ORDER BY pk"),
            "run_id,case_name");
}

TEST(BenchTables, ARunAndACaseNeedOnlyTheirMeasuredFieldsTheRestDefault) {
  Store store(":memory:", bench_only());
  exec(store, kRun);
  exec(store, kResult);
  auto run = store.prepare("SELECT build_type, machine_json, selection, injected_slowdown FROM bench_runs");
  ASSERT_TRUE(run.step());
  EXPECT_EQ(run.get_text("build_type"), "");
  EXPECT_EQ(run.get_text("machine_json"), "{}");
  EXPECT_EQ(run.get_text("selection"), "");
  EXPECT_DOUBLE_EQ(run.get_double("injected_slowdown"), 1.0);
  auto result = store.prepare("SELECT higher_is_better, stop_reason, elapsed_s FROM bench_results");
  ASSERT_TRUE(result.step());
  EXPECT_EQ(result.get_int("higher_is_better"), 0);
  EXPECT_EQ(result.get_text("stop_reason"), "");
  EXPECT_DOUBLE_EQ(result.get_double("elapsed_s"), 0.0);
  const auto message = runtime_error_of([&] {
    exec(store, "INSERT INTO bench_runs (created_at, ds_version, machine_fingerprint) VALUES ('t', 'v', 'fp')");
  });
  EXPECT_NE(message.find("(got NOT NULL constraint failed: bench_runs.git_commit)"), std::string::npos) << message;
}

TEST(BenchTables, ACaseAppearsOncePerRunAndBelongsToARun) {
  Store store(":memory:", bench_only());
  exec(store, kRun);
  exec(store, kResult);
  auto message = runtime_error_of([&] { exec(store, kResult); });
  EXPECT_NE(message.find("(got UNIQUE constraint failed: bench_results.run_id, bench_results.case_name)"),
            std::string::npos)
      << message;
  message = runtime_error_of([&] {
    exec(store, "INSERT INTO bench_baselines (name, run_id, created_at) VALUES ('main', 2, 't')");
  });
  EXPECT_NE(message.find("(got FOREIGN KEY constraint failed)"), std::string::npos) << message;
}

TEST(BenchTables, DeletingARunDeletesItsResultsAndBaselines) {
  Store store(":memory:", bench_only());
  exec(store, kRun);
  exec(store, kResult);
  exec(store, "INSERT INTO bench_baselines (name, run_id, created_at) VALUES ('main', 1, 't')");
  exec(store, "DELETE FROM bench_runs WHERE id = 1");
  EXPECT_EQ(column_list(store, "SELECT count(*) FROM bench_results"), "0");
  EXPECT_EQ(column_list(store, "SELECT count(*) FROM bench_baselines"), "0");
}

}  // namespace
}  // namespace ds::profiles
