// The crash-safety property of checkpoints, tested for real: a child process saves checkpoints in
// a loop and is killed with SIGKILL at random moments; after every kill the `latest` checkpoint
// must load and be complete and self-consistent.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "common/atomic_file.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "tests/engine/train_test_util.hpp"

extern char** environ;

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDirEnv = "DS_CKPT_KILL_DIR";
constexpr std::int64_t kElements = 1 << 20;  // 4 MiB per fp32 tensor: a save writes ~20 MiB and fsyncs it

/// Every piece of checkpoint `step` is a function of `step`, so a torn save cannot pass for whole.
CheckpointState state_for(std::int64_t step) {
  CheckpointState s;
  for (int i = 0; i < 3; ++i) {
    s.model.emplace_back("layers." + std::to_string(i) + ".weight", torch::full({kElements}, float(step * 10 + i)));
  }
  s.optimizer = {{"group0.exp_avg", torch::full({kElements}, float(-step))},
                 {"group0.exp_avg_sq", torch::full({kElements}, float(step) * 0.5f)}};
  s.optimizer_meta = {{"groups", {{{"step", step}}}}};
  s.scheduler = {{"type", "WarmupLR"}, {"last_batch_iteration", step - 1}};
  s.loss_scaler = {{"cur_scale", double(step)}};
  s.sampler = {{"seed", 1}, {"step", step}};
  s.rng = capture_torch_rng();
  s.config_json = "{\"step\": " + std::to_string(step) + "}";
  s.metadata.step = step;
  s.metadata.tokens = step * 4096;
  return s;
}

/// Checks that a loaded checkpoint is exactly state_for(its step); returns the step.
std::int64_t verify(const CheckpointState& got) {
  const std::int64_t step = got.metadata.step;
  EXPECT_EQ(got.metadata.tokens, step * 4096);
  std::map<std::string, torch::Tensor> model(got.model.begin(), got.model.end());
  EXPECT_EQ(model.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const torch::Tensor& t = model["layers." + std::to_string(i) + ".weight"];
    EXPECT_TRUE(t.defined() && t.numel() == kElements && t.eq(float(step * 10 + i)).all().item<bool>()) << step;
  }
  std::map<std::string, torch::Tensor> opt(got.optimizer.begin(), got.optimizer.end());
  EXPECT_TRUE(opt["group0.exp_avg"].eq(float(-step)).all().item<bool>()) << step;
  EXPECT_TRUE(opt["group0.exp_avg_sq"].eq(float(step) * 0.5f).all().item<bool>()) << step;
  EXPECT_EQ(got.scheduler["last_batch_iteration"], step - 1);
  EXPECT_EQ(got.sampler["step"], step);
  EXPECT_EQ(got.optimizer_meta["groups"][0]["step"], step);
  EXPECT_EQ(got.config_json, "{\"step\": " + std::to_string(step) + "}");
  EXPECT_TRUE(got.rng.torch_cpu.defined());
  return step;
}

// The child: runs only when the parent test starts this binary with DS_CKPT_KILL_DIR set.
TEST(CheckpointKill, ChildSavesUntilKilled) {
  const char* dir_env = std::getenv(kDirEnv);
  if (dir_env == nullptr) GTEST_SKIP() << "helper process of CheckpointKill.KillDuringSaveLeavesLatestLoadable";
  fs::path dir = dir_env;
  std::int64_t step = 1;
  if (latest_tag(dir)) step = load_checkpoint(dir).metadata.step + 1;
  std::ofstream(dir.parent_path() / ("started." + std::to_string(::getpid()))) << step;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (; std::chrono::steady_clock::now() < deadline; ++step) save_checkpoint(dir, state_for(step), {.keep_last = 2});
}

/// Starts this test binary running only ChildSavesUntilKilled; its output goes to `log`.
pid_t spawn_child(const fs::path& dir, const fs::path& log) {
  std::string filter = "--gtest_filter=CheckpointKill.ChildSavesUntilKilled";
  std::string log_path = log.string();
  std::string env = std::string(kDirEnv) + "=" + dir.string();
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(env.data());
  envp.push_back(nullptr);
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, filter.data(), nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec in a threaded parent.
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execve(exe, argv, envp.data());
    ::_exit(127);
  }
  return pid;
}

bool wait_started(const fs::path& marker, pid_t pid) {
  for (int i = 0; i < 3000; ++i) {
    if (fs::exists(marker)) return true;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(CheckpointKill, KillDuringSaveLeavesLatestLoadable) {
  test::ScratchDir scratch("ckpt-kill");
  const fs::path dir = scratch.path() / "run";
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> delay_ms(0, 1000);
  constexpr int kKills = 20;
  std::int64_t last_step = 0;
  int mid_save = 0, advanced = 0;
  for (int k = 0; k < kKills; ++k) {
    pid_t pid = spawn_child(dir, scratch.path() / "children.log");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_started(scratch.path() / ("started." + std::to_string(pid)), pid))
        << "child " << k << " did not start; its output:\n" << read_file(scratch.path() / "children.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child " << k << " ended on its own";
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().filename().string().rfind(".tmp-", 0) == 0) {
        ++mid_save;  // the kill interrupted a save
        break;
      }
    }
    if (!latest_tag(dir)) continue;  // killed before its first save finished
    std::int64_t step = verify(load_checkpoint(dir));
    EXPECT_GE(step, last_step) << "kill " << k << ": latest went backwards";
    advanced += step > last_step;
    last_step = step;
    for (const auto& e : fs::directory_iterator(dir)) {
      EXPECT_NE(e.path().filename().string().rfind(".tmp-", 0), 0u) << "stale temporary survived a load";
    }
  }
  EXPECT_GT(last_step, 0) << "no save ever completed";
  EXPECT_GE(advanced, kKills / 3) << "saves rarely completed between kills";
  EXPECT_GE(mid_save, 3) << "few kills landed during a save; the test did not exercise the property";
  RecordProperty("kills_during_save", mid_save);
  RecordProperty("final_step", static_cast<int>(last_step));
  std::cout << "[ info     ] " << kKills << " kills, " << mid_save << " during a save, latest step " << last_step
            << " loaded and verified after each\n";
}

}  // namespace
}  // namespace ds::engine::checkpoint
