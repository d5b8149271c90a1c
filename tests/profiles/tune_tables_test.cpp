#include "profiles/tune_tables.hpp"

#include <gtest/gtest.h>

#include "profiles/store.hpp"
#include "tests/profiles/store_test_helpers.hpp"

namespace ds::profiles {
namespace {

using store_testing::column_list;
using store_testing::exec;
using store_testing::runtime_error_of;

// Only the tune step: its SQL must stand on its own (no table of another step referenced).
StoreOptions tune_only() {
  StoreOptions options;
  options.migrations = {{1, "tune", tune_tables_sql()}};
  return options;
}

const char* kRun = "INSERT INTO tune_runs (id, created_at, objective) VALUES (1, 't', 'throughput')";
const char* kCandidate =
    "INSERT INTO tune_candidates (run_id, rank, plan_json, step_time_s, tokens_per_s) VALUES (1, 1, '{}', 0.5, 1e4)";

TEST(TuneTables, CreateRunsCandidatesCalibrationsAndTheirIndexes) {
  Store store(":memory:", tune_only());
  EXPECT_EQ(column_list(store, "SELECT name FROM sqlite_master WHERE name LIKE 'tune%' ORDER BY name"),
            "tune_calibrations,tune_calibrations_by_machine,tune_candidates,tune_runs,tune_runs_by_machine");
  for (const char* index : {"tune_runs_by_machine", "tune_calibrations_by_machine"}) {
    EXPECT_EQ(column_list(store, std::string("SELECT name FROM pragma_index_info('") + index + "') ORDER BY seqno"),
              "machine_fingerprint,created_at")
        << index;
  }
}

TEST(TuneTables, ARunNeedsOnlyItsTimeAndObjectiveTheRestDefault) {
  Store store(":memory:", tune_only());
  exec(store, kRun);
  EXPECT_EQ(column_list(store,
                        "SELECT model || '|' || model_json || '|' || cluster_json || '|' || options_json || '|' ||"
                        " machine_fingerprint || '|' || raw_combinations || '|' || candidates || '|' || feasible"
                        " || '|' || pruned_json || '|' || chosen_rank || '|' || config_path FROM tune_runs"),
            "|{}|{}|{}||0|0|0|{}|1|");
  EXPECT_EQ(column_list(store, "SELECT elapsed_s = 0 FROM tune_runs"), "1");
  const auto message = runtime_error_of([&] { exec(store, "INSERT INTO tune_runs (created_at) VALUES ('t')"); });
  EXPECT_NE(message.find("(got NOT NULL constraint failed: tune_runs.objective)"), std::string::npos) << message;
}

TEST(TuneTables, CandidatesAreRankedOncePerRunAndGoWithTheirRun) {
  Store store(":memory:", tune_only());
  exec(store, kRun);
  exec(store, kCandidate);
  EXPECT_EQ(column_list(store, "SELECT label || '|' || mfu || '|' || terms_json FROM tune_candidates"), "|0.0|{}");
  const auto message = runtime_error_of([&] { exec(store, kCandidate); });
  EXPECT_NE(message.find("(got UNIQUE constraint failed: tune_candidates.run_id, tune_candidates.rank)"),
            std::string::npos)
      << message;
  exec(store, "DELETE FROM tune_runs WHERE id = 1");
  EXPECT_EQ(column_list(store, "SELECT count(*) FROM tune_candidates"), "0");
}

TEST(TuneTables, ACalibrationNeedsItsFitAndDefaultsItsTrialList) {
  Store store(":memory:", tune_only());
  exec(store,
       "INSERT INTO tune_calibrations (created_at, machine_fingerprint, coefficients_json, trials, mape_before,"
       " mape_after) VALUES ('t', 'fp', '{\"gemm\":1.1}', 4, 0.3, 0.1)");
  EXPECT_EQ(column_list(store, "SELECT device || '|' || trial_ids_json FROM tune_calibrations"), "|[]");
  const auto message = runtime_error_of([&] {
    exec(store,
         "INSERT INTO tune_calibrations (created_at, machine_fingerprint, coefficients_json, trials, mape_before)"
         " VALUES ('t', 'fp', '{}', 4, 0.3)");
  });
  EXPECT_NE(message.find("(got NOT NULL constraint failed: tune_calibrations.mape_after)"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace ds::profiles
