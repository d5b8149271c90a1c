#include "autotune/train_runner.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "configs/config_io.hpp"
#include "tests/autotune/tune_fixtures.hpp"

namespace {

namespace fs = std::filesystem;
using ds::autotune::parse_train_output;

TEST(TrainRunner, ParsesTheSummaryAndFailures) {
  auto ok = parse_train_output(
      0, "{\n  \"mean_step_time_s\": 0.25,\n  \"tokens_per_s\": 4096,\n  \"trial_id\": 7\n}\n", "");
  EXPECT_EQ(ok.status, "ok");
  EXPECT_DOUBLE_EQ(*ok.step_time_s, 0.25);
  EXPECT_DOUBLE_EQ(*ok.tokens_per_s, 4096);
  EXPECT_EQ(*ok.trial_id, 7);
  auto tagged = parse_train_output(
      0, "[rank 0] {\n[rank 0]   \"mean_step_time_s\": 0.5,\n[rank 0]   \"trial_id\": 3\n[rank 0] }\n", "");
  EXPECT_DOUBLE_EQ(*tagged.step_time_s, 0.5);
  EXPECT_EQ(*tagged.trial_id, 3);
  auto oom = parse_train_output(1, "", "step 1\nds: error: CPU out of memory allocating 8 GiB\n");
  EXPECT_EQ(oom.status, "oom");
  EXPECT_EQ(oom.error, "ds: error: CPU out of memory allocating 8 GiB");
  auto failed = parse_train_output(2, "", "");
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.error, "exit code 2");
}

TEST(TrainRunner, ExitZeroWithoutAStepTimeIsAFailure) {
  for (const char* out : {"", "not json", "{\"mean_step_time_s\": 0}", "{\"tokens_per_s\": 10}"}) {
    auto run = parse_train_output(0, out, "");
    EXPECT_EQ(run.status, "failed") << out;
    EXPECT_EQ(run.error, "no step time in ds train's summary") << out;
  }
}

TEST(TrainRunner, KilledOrBadAllocCountsAsOutOfMemory) {
  auto killed = parse_train_output(137, "", "");  // 128 + SIGKILL: the kernel's OOM killer
  EXPECT_EQ(killed.status, "oom");
  EXPECT_EQ(killed.error, "exit code 137");
  auto bad_alloc = parse_train_output(1, "", "terminate: std::bad_alloc\n\n  \n");
  EXPECT_EQ(bad_alloc.status, "oom");
  EXPECT_EQ(bad_alloc.error, "terminate: std::bad_alloc");  // the last non-blank line
  EXPECT_EQ(parse_train_output(1, "", "torch.OutOfMemoryError: CUDA").status, "oom");
}

// A stand-in for ds: records its arguments, writes metrics.jsonl into the run directory and
// prints a rank-tagged summary, so the runner is checked without a real training run.
class TrainRunnerProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ds_train_runner_it's " + std::to_string(::getpid()));
    fs::create_directories(root_);
    script_ = root_ / "fake-ds";
    std::ofstream(script_) << "#!/bin/sh\n"
                              "dir=$(dirname \"$6\")\n"
                              "printf '%s\\n' \"$@\" > \"$dir/args.txt\"\n"
                              "printf '{\"step_time_s\": 9.0}\\n{\"step_time_s\": 0.5}\\nnot json\\n{\"step_time_s\": 0.7}\\n' "
                              "> \"$dir/metrics.jsonl\"\n"
                              "echo '[rank 0] {\"mean_step_time_s\": 0.6, \"trial_id\": 11}'\n"
                              "echo 'ds: warning: slow disk' >&2\n";
    fs::permissions(script_, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(root_); }
  static std::string read(const fs::path& path) {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    return text.str();
  }
  fs::path root_, script_;
};

TEST_F(TrainRunnerProcess, RunsDsTrainInItsOwnDirectoryAndReadsTheSteps) {
  const fs::path dir = root_ / "runs" / "measure-2";
  fs::create_directories(dir);
  std::ofstream(dir / "stale.txt") << "from an earlier run";
  ds::autotune::TrainProcessRunner runner(
      {script_.string(), (root_ / "t.db").string(), (root_ / "runs").string(), 2, "cpu"});
  ds::configs::Config config;
  config.zero_optimization.stage = 1;
  config.provenance.set_keys.insert("zero_optimization.stage");
  const auto run = runner.run(config, ds::test::base_plan(), 2);
  EXPECT_EQ(run.status, "ok");
  EXPECT_DOUBLE_EQ(*run.step_time_s, 0.6);
  EXPECT_EQ(*run.trial_id, 11);
  EXPECT_EQ(run.step_times_s, (std::vector<double>{0.5, 0.7}));  // the first (warm-up) step is left out
  EXPECT_FALSE(fs::exists(dir / "stale.txt"));
  EXPECT_EQ(read(dir / "args.txt"), "--db\n" + (root_ / "t.db").string() + "\n--json\ntrain\n--config\n" +
                                        (dir / "ds_config.json").string() + "\n--nproc\n2\n--device\ncpu\n");
  EXPECT_EQ(read(dir / "stderr.txt"), "ds: warning: slow disk\n");
  const auto saved = ds::configs::load_config(dir / "ds_config.json");
  EXPECT_EQ(saved.zero_optimization.stage, 1);
  EXPECT_EQ(saved.ds.run_dir, dir.string());
  EXPECT_FALSE(saved.ds.resume);
}

}  // namespace
