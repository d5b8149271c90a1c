#include "profiles/trials.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <regex>
#include <set>

#include "profiles/profile_store.hpp"
#include "profiles/store.hpp"
#include "tests/profiles/store_test_helpers.hpp"

namespace ds::profiles {
namespace {

using nlohmann::json;
using store_testing::TempDir;

// Every column set, none NULL.
Trial full_trial() {
  Trial t;
  t.created_at = "2024-05-01T10:00:00.250Z";
  t.source = "train";
  t.status = "ok";
  t.model = "gpt2-124m";
  t.model_json = {{"family", "gpt2"}, {"layers", 12}, {"hidden", 768}};
  t.plan_json = {{"zero_stage", 2}, {"dtype", "bf16"}, {"micro_batch", 4}};
  t.config_hash = "69a30c45304039ef437646cc26f5af009228c01e6e5ff4aec7eaae231497f784";
  t.machine_fingerprint = "00112233aabbccdd";
  t.device = "cuda:0";
  t.world_size = 8;
  t.micro_batch = 4;
  t.grad_accum = 2;
  t.seq_len = 1024;
  t.steps = 500;
  t.predicted_step_time_s = 0.125;
  t.measured_step_time_s = 0.1375;
  t.predicted_peak_bytes = 40'000'000'123;
  t.measured_peak_bytes = 41'234'567'890;
  t.tokens_per_s = 476'625.5;
  t.mfu = 0.4125;
  t.final_loss = 3.0625;
  t.run_dir = "/runs/gpt2 'quoted'";
  t.extra_json = {{"note", "héllo"}, {"skipped_steps", json::array({17, 230})}};
  return t;
}

// Just the NOT NULL columns: every optional empty, model and plan unknown.
Trial minimal_trial(const std::string& source = "tune") {
  Trial t;
  t.source = source;
  t.status = "failed";
  return t;
}

Profile stored_profile() {
  Profile p;
  p.machine.cpu_model = "Test CPU";
  p.machine.cpu_cores = 2;
  p.machine.cpu_threads = 2;
  p.measurements = {{"cpu.gemm", {{"dtype", "fp32"}}, 100.0, "GFLOP/s", 0.01, 3}};
  return p;
}

std::int64_t trial_count(Store& store) {
  auto st = store.prepare("SELECT count(*) FROM trials");
  st.step();
  return st.get_int(0);
}

std::string usage_error_of(const std::function<void()>& f) { return store_testing::error_of<UsageError>(f); }

TrialQuery query(const std::string& machine, const std::string& hash = "", const std::string& source = "", int limit = 0) {
  TrialQuery q;
  q.machine_fingerprint = machine;
  q.config_hash = hash;
  q.source = source;
  q.limit = limit;
  return q;
}

std::vector<std::int64_t> ids(const std::vector<Trial>& trials) {
  std::vector<std::int64_t> out;
  for (const auto& t : trials) out.push_back(t.id);
  return out;
}

}  // namespace

// A database written before the trials table existed (schema version 2) gains it on open and
// keeps its profiles.
TEST(Trials, MigratingAVersion2DatabaseKeepsItsProfiles) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  std::int64_t profile_id = 0;
  {
    StoreOptions v2;
    v2.migrations = {schema_migrations()[0], schema_migrations()[1]};
    Store old(file, v2);
    ASSERT_EQ(old.schema_version(), 2);
    profile_id = save_profile(old, stored_profile());
  }
  Store store(file);
  EXPECT_EQ(store.schema_version(), latest_version(schema_migrations()));
  EXPECT_EQ(schema_migrations().at(2).name, "trials");
  const Profile kept = load_profile(store, std::to_string(profile_id));
  EXPECT_EQ(kept.machine.cpu_model, "Test CPU");
  ASSERT_EQ(kept.measurements.size(), 1u);
  EXPECT_DOUBLE_EQ(kept.measurements[0].value, 100.0);
  EXPECT_EQ(trial_count(store), 0);
  Trial t = minimal_trial();
  t.profile_id = profile_id;
  const auto id = record_trial(store, t);
  EXPECT_EQ(find_trial(store, id)->profile_id, profile_id);
}

TEST(Trials, EveryColumnRoundTrips) {
  Store store(":memory:");
  Trial t = full_trial();
  t.profile_id = save_profile(store, stored_profile());
  const auto id = record_trial(store, t);
  EXPECT_GT(id, 0);
  const auto back = find_trial(store, id);
  ASSERT_TRUE(back.has_value());
  t.id = id;
  // to_json covers every field, so equal JSON means every column came back.
  EXPECT_EQ(to_json(*back), to_json(t));
  EXPECT_EQ(back->measured_peak_bytes, 41'234'567'890);
  EXPECT_EQ(back->extra_json["note"], "héllo");
  EXPECT_EQ(back->run_dir, "/runs/gpt2 'quoted'");
}

TEST(Trials, NullsRoundTripAsEmpty) {
  Store store(":memory:");
  const auto back = find_trial(store, record_trial(store, minimal_trial()));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->model_json.is_null());
  EXPECT_TRUE(back->plan_json.is_null());
  EXPECT_FALSE(back->profile_id || back->predicted_step_time_s || back->measured_step_time_s ||
               back->predicted_peak_bytes || back->measured_peak_bytes || back->tokens_per_s || back->mfu ||
               back->final_loss);
  EXPECT_EQ(back->extra_json, json::object());
  EXPECT_EQ(back->device, "cpu");
  EXPECT_EQ(back->world_size, 1);
  // created_at left empty: the database's clock, UTC with milliseconds.
  EXPECT_TRUE(std::regex_match(back->created_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << back->created_at;
  const json j = to_json(*back);
  EXPECT_TRUE(j.at("mfu").is_null());
  EXPECT_TRUE(j.at("profile_id").is_null());
  EXPECT_EQ(j.at("source"), "tune");
  EXPECT_EQ(j.size(), 25u);  // id + 24 columns
}

// A diverged run's NaN loss cannot be stored as a number (SQLite has no NaN): it reads back empty.
TEST(Trials, ANanLossIsStoredAsNull) {
  Store store(":memory:");
  Trial t = minimal_trial("train");
  t.final_loss = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(find_trial(store, record_trial(store, t))->final_loss.has_value());
  t.final_loss = std::numeric_limits<double>::infinity();
  EXPECT_EQ(find_trial(store, record_trial(store, t))->final_loss, std::numeric_limits<double>::infinity());
}

TEST(Trials, FindingAMissingIdGivesNothing) {
  Store store(":memory:");
  EXPECT_FALSE(find_trial(store, 1).has_value());
}

TEST(Trials, ListFiltersAndOrdersNewestFirst) {
  Store store(":memory:");
  auto add = [&](const std::string& when, const std::string& source, const std::string& machine, const std::string& hash) {
    Trial t = minimal_trial(source);
    t.created_at = when;
    t.machine_fingerprint = machine;
    t.config_hash = hash;
    return record_trial(store, t);
  };
  const auto a = add("2024-05-01T10:00:00.000Z", "train", "m1", "h1");
  const auto b = add("2024-05-03T10:00:00.000Z", "tune", "m1", "h2");
  const auto c = add("2024-05-02T10:00:00.000Z", "train", "m2", "h1");
  const auto d = add("2024-05-03T10:00:00.000Z", "bench", "m1", "h1");  // same time as b: later id first
  EXPECT_EQ(ids(list_trials(store)), (std::vector<std::int64_t>{d, b, c, a}));
  EXPECT_EQ(ids(list_trials(store, query("m1"))), (std::vector<std::int64_t>{d, b, a}));
  EXPECT_EQ(ids(list_trials(store, query("", "h1"))), (std::vector<std::int64_t>{d, c, a}));
  EXPECT_EQ(ids(list_trials(store, query("", "", "train"))), (std::vector<std::int64_t>{c, a}));
  EXPECT_EQ(ids(list_trials(store, query("m1", "h1", "train"))),
            (std::vector<std::int64_t>{a}));
  EXPECT_EQ(ids(list_trials(store, query("", "", "", 2))), (std::vector<std::int64_t>{d, b}));
  EXPECT_TRUE(list_trials(store, query("nope")).empty());
}

// A table of bad values: each names the field, what it got and what it expects; nothing is stored.
TEST(Trials, BadValuesAreRejectedNamingTheField) {
  Store store(":memory:");
  struct Case {
    std::function<void(Trial&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](Trial& t) { t.source = "training"; },
       "trial.source: unknown source (got 'training'); expected one of train, tune, bench"},
      {[](Trial& t) { t.status = ""; }, "trial.status: unknown status (got ''); expected one of ok, failed, oom, stopped"},
      {[](Trial& t) { t.extra_json = json::array(); }, "trial.extra_json: not a JSON object (got array); expected an object"},
      {[](Trial& t) { t.plan_json = "zero2"; },
       "trial.plan_json: not a JSON object (got string); expected an object, or null when unknown"},
      {[](Trial& t) { t.world_size = 0; }, "trial.world_size: out of range (got 0); expected an integer >= 1"},
      {[](Trial& t) { t.steps = -1; }, "trial.steps: out of range (got -1); expected an integer >= 0"},
      {[](Trial& t) { t.measured_step_time_s = -0.5; },
       "trial.measured_step_time_s: not a measurement (got -0.5); expected a finite number >= 0, or empty when unknown"},
      {[](Trial& t) { t.tokens_per_s = std::numeric_limits<double>::infinity(); },
       "trial.tokens_per_s: not a measurement (got inf); expected a finite number >= 0, or empty when unknown"},
      {[](Trial& t) { t.measured_peak_bytes = -1; },
       "trial.measured_peak_bytes: not a measurement (got -1); expected a finite number >= 0, or empty when unknown"},
      {[](Trial& t) { t.profile_id = 42; },
       "trial.profile_id: no such profile (got 42); hint: use an id from `ds profile list`, or leave it empty"},
  };
  for (const auto& c : cases) {
    Trial t = full_trial();
    c.change(t);
    EXPECT_EQ(usage_error_of([&] { record_trial(store, t); }), c.message);
  }
  EXPECT_EQ(trial_count(store), 0);
  EXPECT_EQ(usage_error_of([&] { list_trials(store, query("", "", "Train")); }),
            "trial.source: unknown source (got 'Train'); expected one of train, tune, bench");
  EXPECT_EQ(usage_error_of([&] { list_trials(store, query("", "", "", -1)); }),
            "trial query limit: out of range (got -1); expected 0 (all) or more");
}

// Several processes (as several `ds train` runs side by side) record into one file: all land.
TEST(Trials, ConcurrentWriterProcessesAllLand) {
  constexpr int kProcesses = 3;
  constexpr int kTrialsEach = 25;
  TempDir dir;
  const auto file = dir.path / "ds.db";
  std::vector<pid_t> children;
  for (int w = 0; w < kProcesses; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        Store store(file);  // every writer opens (and may create and migrate) the file itself
        for (int i = 0; i < kTrialsEach; ++i) {
          Trial t = full_trial();
          t.machine_fingerprint = "writer" + std::to_string(w);
          t.steps = i;
          record_trial(store, t);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", w, e.what());
        code = 1;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer process failed, status " << status;
  }
  Store store(file);
  EXPECT_EQ(trial_count(store), kProcesses * kTrialsEach);
  for (int w = 0; w < kProcesses; ++w) {
    const auto mine = list_trials(store, query("writer" + std::to_string(w)));
    std::set<std::int64_t> steps;
    for (const auto& t : mine) steps.insert(t.steps);
    EXPECT_EQ(steps.size(), static_cast<std::size_t>(kTrialsEach)) << "writer " << w;
  }
}

}  // namespace ds::profiles
