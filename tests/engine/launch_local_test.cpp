// `ds train --nproc N`'s spawner and supervisor, with sh as the rank program.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <mutex>

#include "common/error.hpp"
#include "engine/launch/launcher.hpp"

namespace ds::launch {
namespace {

using Clock = std::chrono::steady_clock;
using testing::ElementsAre;

/// Collects each rank's lines.
struct Recorder {
  std::mutex mutex;
  std::map<size_t, std::vector<std::string>> out, err;
  LineSink sink() {
    return [this](size_t index, Stream stream, const std::string& line) {
      std::lock_guard lock(mutex);
      (stream == Stream::kStdout ? out : err)[index].push_back(line);
    };
  }
};

LaunchOptions sh(const std::string& script, int nproc, Recorder& recorder) {
  LaunchOptions options;
  options.command = {"sh", "-c", script};
  options.nproc = nproc;
  options.on_line = recorder.sink();
  options.grace_period = std::chrono::milliseconds(500);
  return options;
}

std::string launch_error(const LaunchOptions& options) {
  try {
    launch_local(options);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LaunchLocal, SetsTorchrunVariables) {
  Recorder r;
  LaunchOptions options = sh("echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $GROUP_RANK $MASTER_ADDR $FOO", 3, r);
  options.master_port = 29123;
  options.env = {{"FOO", "bar"}};
  launch_local(options);
  EXPECT_THAT(r.out[0], ElementsAre("0 3 0 3 0 127.0.0.1 bar"));
  EXPECT_THAT(r.out[1], ElementsAre("1 3 1 3 0 127.0.0.1 bar"));
  EXPECT_THAT(r.out[2], ElementsAre("2 3 2 3 0 127.0.0.1 bar"));
  std::vector<ProcessSpec> specs = local_rank_processes(options);
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[2].label, "rank 2");
  EXPECT_THAT(specs[2].env, testing::Contains(std::pair<std::string, std::string>("MASTER_PORT", "29123")));
}

TEST(LaunchLocal, PicksAFreePortSharedByAllRanks) {
  Recorder r;
  launch_local(sh("echo $MASTER_PORT", 2, r));
  ASSERT_EQ(r.out[0].size(), 1u);
  EXPECT_EQ(r.out[0], r.out[1]);
  EXPECT_GT(std::stoi(r.out[0][0]), 0);
}

TEST(LaunchLocal, ForwardsWholeLinesPerStream) {
  Recorder r;
  // Every line is written in two pieces, and the last one has no newline at all.
  launch_local(sh("i=1; while [ $i -le 200 ]; do printf \"r$RANK-l$i-\"; printf \"end\\n\"; i=$((i+1)); done; "
                  "echo err-$RANK >&2; printf tail-$RANK",
                  3, r));
  for (size_t rank = 0; rank < 3; ++rank) {
    ASSERT_EQ(r.out[rank].size(), 201u);
    for (int i = 1; i <= 200; ++i) {
      EXPECT_EQ(r.out[rank][i - 1], "r" + std::to_string(rank) + "-l" + std::to_string(i) + "-end");
    }
    EXPECT_EQ(r.out[rank][200], "tail-" + std::to_string(rank));
    EXPECT_THAT(r.err[rank], ElementsAre("err-" + std::to_string(rank)));
  }
}

TEST(LaunchLocal, ConsoleSinkPrefixesTheRank) {
  LineSink sink = console_line_sink({"rank 0", "rank 1"});
  testing::internal::CaptureStdout();
  sink(1, Stream::kStdout, "loss 2.5");
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "[rank 1] loss 2.5\n");
  testing::internal::CaptureStderr();
  sink(0, Stream::kStderr, "warning");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "[rank 0] warning\n");
}

TEST(LaunchLocal, OneFailingRankStopsTheOthers) {
  Recorder r;
  const auto start = Clock::now();
  std::string error = launch_error(sh("if [ $RANK = 1 ]; then i=1; while [ $i -le 25 ]; do echo line $i; i=$((i+1)); done; "
                                      "exit 3; fi; sleep 30",
                                      3, r));
  std::string expected = "launch: rank 1 exited with status 3; stopped the other 2 processes\nlast 20 lines of rank 1:";
  for (int i = 6; i <= 25; ++i) expected += "\n  line " + std::to_string(i);
  EXPECT_EQ(error, expected);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST(LaunchLocal, RanksIgnoringSigtermAreKilled) {
  Recorder r;
  const auto start = Clock::now();
  std::string error = launch_error(sh("if [ $RANK = 0 ]; then sleep 0.2; kill -9 $$; fi; trap '' TERM; sleep 30 & wait; sleep 30", 2, r));
  EXPECT_EQ(error, "launch: rank 0 was killed by signal 9 (SIGKILL); stopped the other 1 process; it printed nothing");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST(LaunchLocal, StoppedRanksAreContinuedToSeeSigterm) {
  Recorder r;
  LaunchOptions options = sh("if [ $RANK = 0 ]; then sleep 0.3; exit 1; fi; kill -STOP $$; sleep 30", 2, r);
  options.grace_period = std::chrono::seconds(30);  // SIGKILL would come too late for the check below
  const auto start = Clock::now();
  EXPECT_EQ(launch_error(options), "launch: rank 0 exited with status 1; stopped the other 1 process; it printed nothing");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST(LaunchLocal, ProgramThatCannotRun) {
  Recorder r;
  LaunchOptions options = sh("", 1, r);
  options.command = {"/nonexistent/ds-rank"};
  EXPECT_EQ(launch_error(options),
            "launch: rank 0 exited with status 127\nlast line of rank 0:\n"
            "  launch: cannot execute '/nonexistent/ds-rank': No such file or directory");
}

TEST(LaunchLocal, SignalToTheLauncherStopsTheRanks) {
  Recorder r;
  LaunchOptions options = sh("echo ready; sleep 30", 2, r);
  options.on_line = [](size_t, Stream, const std::string&) { std::raise(SIGTERM); };  // as if the scheduler sent it
  const auto start = Clock::now();
  EXPECT_EQ(launch_error(options), "launch: interrupted by SIGTERM; stopped all 2 processes");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST(LaunchLocal, AllSucceed) {
  Recorder r;
  EXPECT_NO_THROW(launch_local(sh("exit 0", 4, r)));
}

TEST(LaunchLocal, BadOptions) {
  Recorder r;
  const std::vector<std::pair<LaunchOptions, std::string>> cases = [&] {
    std::vector<std::pair<LaunchOptions, std::string>> out;
    LaunchOptions zero = sh("true", 0, r);
    out.emplace_back(zero, "--nproc: must be at least 1 (got 0)");
    LaunchOptions empty = sh("true", 1, r);
    empty.command.clear();
    out.emplace_back(empty, "launch: no command to run for the ranks");
    LaunchOptions overflow = sh("true", 4, r);
    overflow.world_size = 6;
    overflow.rank_offset = 4;
    overflow.master_port = 29500;
    out.emplace_back(overflow, "launch: ranks 4..7 do not fit the world size (got 6)");
    LaunchOptions no_port = sh("true", 2, r);
    no_port.world_size = 4;
    out.emplace_back(no_port, "--master-port: must be given when ranks run on several nodes");
    return out;
  }();
  for (const auto& [options, message] : cases) {
    try {
      launch_local(options);
      ADD_FAILURE() << message;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.what(), message);
    }
  }
}

}  // namespace
}  // namespace ds::launch
