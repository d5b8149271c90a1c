// ZeRO-Infinity under SIGKILL: `ds-engine train` with Adam's states on NVMe is killed in the
// middle of training (after its first checkpoints, at a random moment, so sometimes mid-step or
// mid-save). Its swap directory is left behind; the next run must resume from the newest
// checkpoint, remove the dead run's swap files, and leave none of its own when it exits.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/engine/train_test_util.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::test {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> swap_dirs(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("ds-swap-", 0) == 0) out.push_back(e.path());
  }
  return out;
}

std::string train_args(const fs::path& dir, int steps) {
  return "train --model ds-tiny --seq 64 --micro-batch 2 --data '" + (dir / "data.bin").string() + "' --out '" +
         (dir / "run").string() + "' --steps " + std::to_string(steps) +
         " --save-every 2 --zero-stage 2 --set zero_optimization.offload_optimizer.device=nvme"
         " --set zero_optimization.offload_optimizer.nvme_path='" + (dir / "nvme").string() +
         "' --set zero_optimization.sub_group_size=100000";
}

TEST(NvmeKill, NextRunResumesAndCleansTheDeadRunsSwapFiles) {
  ScratchDir dir("nvme-kill");
  fs::create_directories(dir.path() / "nvme");
  DsRun prep = run_ds("data prepare --input /usr/share/common-licenses/GPL-3 --out '" + (dir.path() / "data.bin").string() +
                      "' -q");
  ASSERT_EQ(prep.code, 0) << prep.output();

  const pid_t child = ::fork();
  if (child == 0) {
    const std::string command = "exec '" + std::string(DS_ENGINE_BINARY) + "' -q " + train_args(dir.path(), 100000) +
                                " >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(child, 0);
  // Wait for a checkpoint and the swap files, then kill at a random moment of the next steps.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!(fs::exists(dir.path() / "run" / "latest") && !swap_dirs(dir.path() / "nvme").empty())) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no checkpoint or swap files appeared";
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, WNOHANG), 0) << "the training run ended early";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::mt19937 rng(std::random_device{}());
  std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 600)(rng)));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  const std::vector<fs::path> left = swap_dirs(dir.path() / "nvme");
  ASSERT_EQ(left.size(), 1u) << "the killed run leaves its swap directory";

  std::string latest;
  std::ifstream(dir.path() / "run" / "latest") >> latest;
  const int saved = std::stoi(latest.substr(latest.find_last_not_of("0123456789") + 1));
  DsRun again = run_program(DS_ENGINE_BINARY, train_args(dir.path(), saved + 2) + " --json");
  ASSERT_EQ(again.code, 0) << again.output();
  EXPECT_NE(again.output().find("removed " + left[0].string()), std::string::npos) << again.output();
  EXPECT_FALSE(fs::exists(left[0]));
  EXPECT_TRUE(swap_dirs(dir.path() / "nvme").empty()) << "a clean exit removes its own";
  const auto summary = nlohmann::json::parse(again.out);
  EXPECT_GE(summary["first_step"].get<int>(), saved) << "resumed from the newest checkpoint";
  EXPECT_EQ(summary["last_step"].get<int>(), saved + 2);
  EXPECT_GT(summary["nvme_bytes"].get<double>(), 0);
}

}  // namespace
}  // namespace ds::test
