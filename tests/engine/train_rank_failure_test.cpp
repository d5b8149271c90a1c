// A rank killed in the middle of training ends the whole job quickly, non-zero, naming the rank
// (issue 7): the launcher notices the death, stops the other ranks and reports.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/engine/tiny_run_util.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::train {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  for (pid_t child; in >> child;) out.push_back(child);
  return out;
}

std::size_t lines_in(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(TrainRankFailure, KillingOneRankEndsTheJobNamingIt) {
  test::ScratchDir dir("rank-failure");
  const auto data = test::write_tokens(dir.path());
  const auto run = dir.path() / "run";
  const auto err_file = dir.path() / "stderr.txt";
  const pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    int fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::setenv("DS_HOME", (dir.path() / "home").c_str(), 1);
    ::execl(DS_ENGINE_BINARY, DS_ENGINE_BINARY, "train", "--data", data.c_str(), "--out", run.c_str(), "--seq", "32",
            "--micro-batch", "2", "--steps", "100000", "--nproc", "2", "--zero-stage", "2", "--print-every", "1",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until both ranks train (rank 0 has logged a step), then kill rank 1 mid-run.
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  std::vector<pid_t> ranks;
  while (Clock::now() < deadline) {
    ranks = children_of(launcher);
    if (ranks.size() == 2 && lines_in(run / "metrics.jsonl") >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(ranks.size(), 2u) << "ranks did not start";
  // Children are started in rank order.
  ASSERT_EQ(::kill(ranks[1], SIGKILL), 0);
  const auto killed_at = Clock::now();
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(launcher, &status, WNOHANG)) == 0 && Clock::now() - killed_at < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (done == 0) {
    ::kill(launcher, SIGKILL);
    ::waitpid(launcher, &status, 0);
    FAIL() << "the job was still running 60 s after a rank died";
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - killed_at).count();
  EXPECT_LT(seconds, 60.0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  std::ifstream err(err_file);
  std::stringstream text;
  text << err.rdbuf();
  EXPECT_NE(text.str().find("rank 1"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("signal"), std::string::npos) << text.str();
  // Rank 0 was stopped too: no process of the job is left.
  for (pid_t r : ranks) EXPECT_NE(::kill(r, 0), 0) << "rank pid " << r << " still alive";
}

}  // namespace
}  // namespace ds::engine::train
