// `ds train` end to end through the built binary: output, files, the trial row, config errors,
// and data parallelism on real Gloo ranks (our launcher, and torchrun-style variables).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/launch/launcher.hpp"
#include "profiles/store.hpp"
#include "profiles/trials.hpp"
#include "tests/engine/tiny_run_util.hpp"
#include "tests/engine/train_test_util.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::engine::train {
namespace {

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override { test::write_tokens(dir_.path()); }
  std::filesystem::path data_path() const { return dir_.path() / "train.bin"; }
  std::string env() const { return "DS_HOME='" + (dir_.path() / "home").string() + "'"; }
  std::string common(const std::string& run) const {
    return "train --data '" + data_path().string() + "' --seq 32 --out '" + (dir_.path() / run).string() + "'";
  }
  std::vector<double> losses(const std::string& run) const {
    std::vector<double> out;
    std::ifstream in(dir_.path() / run / "metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
    return out;
  }
  test::ScratchDir dir_{"train-cli"};
};

TEST_F(TrainCli, JsonSummaryFilesAndTrialRow) {
  test::DsRun r = test::run_ds("--json " + common("run") + " --steps 3 --micro-batch 2", env());
  ASSERT_EQ(r.code, 0) << r.output();
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["last_step"], 3);
  EXPECT_GT(j["peak_bytes"].get<double>(), 0);
  EXPECT_GT(j["predicted_peak_bytes"].get<double>(), 0);
  ASSERT_TRUE(j["trial_id"].is_number()) << r.out;
  EXPECT_EQ(losses("run").size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "run" / "latest"));

  profiles::Store store(dir_.path() / "home" / "ds.db");
  auto trial = profiles::find_trial(store, j["trial_id"].get<std::int64_t>());
  ASSERT_TRUE(trial.has_value());
  EXPECT_EQ(trial->source, "train");
  EXPECT_EQ(trial->status, "ok");
  EXPECT_EQ(trial->model, "ds-tiny");
  EXPECT_EQ(trial->steps, 3);
  EXPECT_EQ(trial->micro_batch, 2);
  EXPECT_EQ(trial->seq_len, 32);
  EXPECT_EQ(trial->config_hash.size(), 64u);
  EXPECT_TRUE(trial->measured_peak_bytes.has_value());
  EXPECT_TRUE(trial->predicted_peak_bytes.has_value());
  EXPECT_TRUE(trial->final_loss.has_value());
  EXPECT_EQ(trial->plan_json["micro_batch"], 2);
}

TEST_F(TrainCli, PlainLinesAndPlot) {
  test::DsRun r = test::run_ds(common("run") + " --steps 4 --micro-batch 2 --print-every 2 --plot '" +
                                   (dir_.path() / "plot.svg").string() + "'",
                               env());
  ASSERT_EQ(r.code, 0) << r.output();
  EXPECT_NE(r.err.find("step 2/4 | loss"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step 4/4 | loss"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("step 3/4"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("final loss"), std::string::npos) << r.out;
  std::ifstream svg(dir_.path() / "plot.svg");
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("training loss"), std::string::npos);
}

TEST_F(TrainCli, ConfigMistakesAreNamed) {
  test::DsRun r = test::run_ds(common("run") + " --steps 2 --set zero_optimization.stagee=1", env());
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("stagee"), std::string::npos) << r.err;
  r = test::run_ds(common("run") + " --steps 2 --set noequals", env());
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("KEY=VALUE"), std::string::npos) << r.err;
  // Layouts ds train does not run are refused, naming the key, not run as data parallelism.
  for (const char* set : {"tensor_parallel.autotp_size=2", "pipeline.stages=2", "sequence_parallel_size=2"}) {
    r = test::run_ds(common("run") + " --steps 2 --set " + set, env());
    EXPECT_EQ(r.code, 2) << set << ": " << r.output();
    const std::string key = std::string(set).substr(0, std::string(set).find('='));
    EXPECT_NE(r.err.find(key + ": ds train runs data parallelism only"), std::string::npos) << r.err;
  }
  r = test::run_ds("train --data '" + (dir_.path() / "missing.bin").string() + "' --steps 2", env());
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("missing.bin"), std::string::npos) << r.err;
}

// Two Gloo ranks with micro-batch 2 draw the same windows as one rank with micro-batch 4
// (WindowSampler's rank sharding); averaging the gradients makes the steps agree up to the
// order of the fp32 sums: 1e-5 relative over 4 steps of AdamW with clipping and accumulation.
TEST_F(TrainCli, TwoRanksMatchOneProcess) {
  const std::string flags = " --steps 4 --grad-accum 2 --clip 0.5 -q";
  test::DsRun one = test::run_ds(common("one") + " --micro-batch 4" + flags, env());
  ASSERT_EQ(one.code, 0) << one.output();
  test::DsRun two = test::run_ds(common("two") + " --micro-batch 2 --nproc 2" + flags, env());
  ASSERT_EQ(two.code, 0) << two.output();
  auto a = losses("one"), b = losses("two");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * a[i]) << "step " << i + 1;
}

// Resume with another number of ranks and another ZeRO stage, with no conversion step: 4 ranks
// at stage 3 save at step 3, 2 ranks at stage 2 continue to step 6, and the losses follow one
// process that ran all 6 steps (same global batch of 4 windows), to 1e-5 relative.
TEST_F(TrainCli, ResumesOnAnotherWorldSizeAndStage) {
  test::DsRun ref = test::run_ds(common("straight") + " --micro-batch 4 --steps 6 -q", env());
  ASSERT_EQ(ref.code, 0) << ref.output();
  test::DsRun first = test::run_ds(common("resharded") + " --micro-batch 1 --nproc 4 --zero-stage 3 --steps 3 -q", env());
  ASSERT_EQ(first.code, 0) << first.output();
  for (int r = 0; r < 4; ++r) {
    EXPECT_TRUE(std::filesystem::exists(dir_.path() / "resharded" / "global_step3" /
                                        ("zero_shard_rank" + std::to_string(r) + ".safetensors")));
  }
  test::DsRun second = test::run_ds(common("resharded") + " --micro-batch 2 --nproc 2 --zero-stage 2 --steps 6", env());
  ASSERT_EQ(second.code, 0) << second.output();
  EXPECT_NE(second.err.find("resumed from global_step3"), std::string::npos) << second.err;
  auto a = losses("straight"), b = losses("resharded");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * a[i]) << "step " << i + 1;
}

// torchrun, srun and mpirun start the ranks themselves; ds reads their variables.
TEST_F(TrainCli, TorchrunStyleEnvironment) {
  const int port = launch::free_tcp_port();
  auto rank_env = [&](int rank) {
    return env() + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 RANK=" +
           std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) + " OMP_NUM_THREADS=1";
  };
  const std::string args = common("env") + " --micro-batch 2 --steps 2 -q";
  // Rank 1 in the background, rank 0 in the foreground; the shell waits for both.
  test::DsRun r = test::run_program(
      "/bin/sh", "-c \"" + rank_env(1) + " '" + std::string(DS_BINARY) + "' " + args + " & " + rank_env(0) + " '" +
                     std::string(DS_BINARY) + "' " + args + "; s=\\$?; wait \\$! || exit 1; exit \\$s\"");
  ASSERT_EQ(r.code, 0) << r.output();
  auto l = losses("env");
  EXPECT_EQ(l.size(), 2u);  // rank 0 alone writes the log
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "env" / "global_step2" / "metadata.json"));
}

}  // namespace
}  // namespace ds::engine::train
