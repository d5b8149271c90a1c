// End-to-end: runs the built `ds tune ...` (DS_BINARY) and checks exit codes, text and JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "profiles/machine_info.hpp"
#include "profiles/store.hpp"
#include "profiles/trials.hpp"
#include "tests/support/run_ds.hpp"

namespace {

using ds::test::DsRun;
using ds::test::run_ds;

const std::string kSmall = "--model gpt2 --gpu a100-80g --gpus-per-node 4 --micro-batch 1,2 --bucket-sizes 5e8 ";

// Every run here records into its own database, never the user's.
std::string db() { return "--db '" + ::testing::TempDir() + "tune_cli_test.db' "; }

TEST(TuneCli, TableNamesCountsAndTopPlans) {
  DsRun r = run_ds(db() + "tune " + kSmall + "--top 3 --explain");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("search:  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("candidates"), std::string::npos);
  EXPECT_NE(r.out.find("tokens/s"), std::string::npos);
  EXPECT_NE(r.out.find("why #1 ("), std::string::npos);
}

TEST(TuneCli, JsonRanksByThroughput) {
  DsRun r = run_ds(db() + "--json tune " + kSmall + "--top 4");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["top"].size(), 4u);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_GE(j["top"][i - 1]["cost"]["tokens_per_s"].get<double>(), j["top"][i]["cost"]["tokens_per_s"].get<double>());
  }
  // 6 layouts x 4 stages x 3 x 3 offloads x 2 micro-batches x 3 checkpointing x 1 dtype x 1 bucket.
  EXPECT_EQ(j["raw_combinations"], 6 * 4 * 9 * 2 * 3);
}

// A plan that ran out of memory on this machine (an "oom" trial, as --measure records it) is not
// ranked by later runs: the device estimates are scaled past it, and the report says so.
TEST(TuneCli, OutOfMemoryTrialCorrectsLaterRuns) {
  const std::string path = ::testing::TempDir() + "tune_cli_oom.db";
  std::remove(path.c_str());
  // 16 GiB devices: plan #1 needs more than a quarter of them (memory_correction's 4x bound).
  const std::string db_flag = "--db '" + path + "' ";
  const std::string small = kSmall + "--gpu-mem 16GiB ";
  DsRun first = run_ds(db_flag + "--json tune " + small + "--top 1 --no-record");
  ASSERT_EQ(first.code, 0) << first.err;
  const auto chosen = nlohmann::json::parse(first.out)["top"][0];
  EXPECT_EQ(nlohmann::json::parse(first.out)["memory_scale"], 1.0);
  {
    ds::profiles::Store store(path);
    ds::profiles::Trial t;
    t.source = "tune";
    t.status = "oom";
    t.model = "gpt2";
    t.plan_json = chosen["plan"];
    t.machine_fingerprint = ds::profiles::read_machine_info().fingerprint();
    t.device = "cuda";
    t.world_size = 4;
    ds::profiles::record_trial(store, t);
  }
  DsRun again = run_ds(db_flag + "--json tune " + small + "--top 1 --no-record");
  ASSERT_EQ(again.code, 0) << again.err;
  const auto j = nlohmann::json::parse(again.out);
  EXPECT_GT(j["memory_scale"].get<double>(), 1.0);
  EXPECT_NE(j["top"][0]["plan"], chosen["plan"]);
  EXPECT_LT(j["top"][0]["memory"]["device_peak_bytes"].get<double>(),
            chosen["memory"]["device_peak_bytes"].get<double>() * j["memory_scale"].get<double>());
  DsRun text = run_ds(db_flag + "tune " + small + "--top 1 --no-record");
  EXPECT_NE(text.out.find("memory: device estimates x"), std::string::npos) << text.out;
  DsRun ignored = run_ds(db_flag + "--json tune " + small + "--top 1 --no-record --no-calibration");
  ASSERT_EQ(ignored.code, 0) << ignored.err;
  EXPECT_EQ(nlohmann::json::parse(ignored.out)["top"][0]["plan"], chosen["plan"]);
}

TEST(TuneCli, BadFlagsExitTwoNamingTheFlag) {
  struct Case {
    std::string args, message;
  };
  const Case cases[] = {
      {"--stages 0,5", "--stages: not a ZeRO stage (got '5'); expected 0, 1, 2 or 3"},
      {"--objective fastest", "--objective: unknown objective (got 'fastest'); expected throughput, memory or cost"},
      {"--checkpointing none,some", "--checkpointing: unknown value (got 'some'); expected one of none, selective, full"},
      {"--top 0", "--top: out of range (got 0); expected an integer >= 1"},
  };
  for (const auto& c : cases) {
    DsRun r = run_ds(db() + "tune " + kSmall + c.args);
    EXPECT_EQ(r.code, 2) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
  }
  DsRun missing = run_ds(db() + "tune --gpu a100-80g");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--model: required"), std::string::npos) << missing.err;
}

}  // namespace

namespace {

TEST(TuneCli, OutWritesAConfigThatConfigCheckAccepts) {
  const std::string path = ::testing::TempDir() + "tuned_ds_config.json";
  DsRun r = ds::test::run_ds(db() + "tune " + kSmall + "--top 2 --out " + path);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ds train --nproc 4 --config " + path), std::string::npos) << r.out;
  DsRun check = ds::test::run_ds("config check --world-size 4 " + path);
  EXPECT_EQ(check.code, 0) << check.out << check.err;
}

// End to end on this machine's CPU: --measure trains the top plans in ds train on 2 real ranks,
// and the config --out writes passes `ds config check` and runs in `ds train` as written.
TEST(TuneCli, MeasuredPlansRunInDsTrainAndTheWrittenConfigRunsAsIs) {
  const std::string dir = ::testing::TempDir() + "tune_measure_e2e/";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream text(dir + "corpus.txt");
    for (int i = 0; i < 4000; ++i) text << "plan " << i % 97 << " measured, priced and ranked again. ";
  }
  const std::string db_flag = "--db '" + dir + "t.db' ";
  DsRun data = run_ds(db_flag + "-q data prepare --tokenizer byte --input '" + dir + "corpus.txt' --out '" + dir + "train.bin'");
  ASSERT_EQ(data.code, 0) << data.err;
  DsRun r = run_ds(db_flag +
                   "tune --model ds-tiny --gpu cpu-only --gpus-per-node 2 --seq 64 --dtype fp32 --max-tp 1 --max-pp 1 "
                   "--micro-batch 1,2 --checkpointing none --offload-optimizer none --offload-param none --stages 0,2 "
                   "--bucket-sizes 5e8 --top 4 --measure 2 --explore 1 --measure-steps 3 --measure-dir '" + dir +
                   "runs' --data '" + dir + "train.bin' --out '" + dir + "cfg.json'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("not recalibrated: 3 finished trials on this machine, 4 needed"), std::string::npos) << r.out;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::filesystem::exists(dir + "runs/measure-" + std::to_string(i) + "/metrics.jsonl")) << i;
  EXPECT_NE(r.out.find("ds train --nproc 2 --config " + dir + "cfg.json\n"), std::string::npos) << r.out;
  DsRun check = run_ds("config check --world-size 2 '" + dir + "cfg.json'");
  EXPECT_EQ(check.code, 0) << check.out << check.err;
  DsRun train = run_ds(db_flag + "-q train --nproc 2 --config '" + dir + "cfg.json' --steps 2 --out '" + dir + "run'");
  ASSERT_EQ(train.code, 0) << train.err;
  std::ifstream metrics(dir + "run/metrics.jsonl");
  int steps = 0;
  for (std::string line; std::getline(metrics, line);) steps += !line.empty();
  EXPECT_EQ(steps, 2);
}

}  // namespace

namespace {

TEST(TuneCli, HistoryListsTheRunAndItsCandidates) {
  DsRun r = ds::test::run_ds(db() + "--json tune " + kSmall + "--top 2");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto id = nlohmann::json::parse(r.out)["run_id"].get<std::int64_t>();
  DsRun list = ds::test::run_ds(db() + "--json tune history --limit 1");
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(nlohmann::json::parse(list.out)[0]["id"], id);
  DsRun one = ds::test::run_ds(db() + "--json tune history --id " + std::to_string(id));
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out)["top"].size(), 2u);
  DsRun missing = ds::test::run_ds(db() + "tune history --id 999999");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--id: no such tuning run (got 999999)"), std::string::npos) << missing.err;
}

}  // namespace
