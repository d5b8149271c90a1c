// A peer that dies or hangs must end the job with a clear message, never a silent hang. Real
// ranks (copies of this binary running CommFailureWorker.Run) with a short DS_TIMEOUT.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <mutex>

#include "common/error.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/launch/launcher.hpp"

namespace ds::comm {
namespace {

using Clock = std::chrono::steady_clock;

/// The survivor: expects the second all_reduce to fail with `expected` (a regex), within
/// `limit`; prints "survivor-ok" if all its checks passed, then exits 42 so that the launcher
/// stops the job.
[[noreturn]] void survive(Communicator& comm, const std::string& expected, std::chrono::seconds limit) {
  torch::Tensor big = torch::ones({4 << 20});
  const auto start = Clock::now();
  try {
    comm.all_reduce(big);
    ADD_FAILURE() << "all_reduce succeeded without its peer";
  } catch (const RuntimeError& e) {
    std::printf("survivor caught: %s\n", e.what());
    EXPECT_THAT(e.what(), testing::MatchesRegex(expected));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("survivor took %.1f s\n", seconds);
  EXPECT_LT(seconds, static_cast<double>(limit.count()));
  if (!testing::Test::HasFailure()) std::puts("survivor-ok");
  std::fflush(stdout);
  std::_Exit(42);
}

TEST(CommFailureWorker, Run) {
  const char* scenario_env = std::getenv("DS_COMM_FAILURE_WORKER");
  if (!scenario_env) GTEST_SKIP() << "helper: runs only as a rank started by CommFailure";
  const std::string scenario = scenario_env;
  // Before the first collective: the victim dies as soon as call #1 returns on its side, and the
  // launcher's SIGTERM must not end a survivor that is still inside call #1.
  std::signal(SIGTERM, SIG_IGN);  // the survivor finishes its checks while the launcher stops the job
  Communicator comm(options_from_environment());
  torch::Tensor warm = torch::ones({16});
  comm.all_reduce(warm);  // call #1: every connection is up
  const int victim = scenario == "master_killed" ? 0 : 1;
  if (comm.rank() == victim) {
    torch::Tensor big = torch::ones({4 << 20});
    CommWork in_flight = comm.all_reduce_async(big);
    std::raise(scenario == "peer_stopped" ? SIGSTOP : SIGKILL);
    std::_Exit(3);  // not reached for SIGKILL; a stopped rank is killed by the launcher
  }
  const std::string rest = " \\[gloo: .*\\]; hint: a peer died or hung; check rank " + std::to_string(victim) + "'s log";
  const std::string where = "collective all_reduce \\(call #2\\) on rank " + std::to_string(comm.rank()) + " of 2: ";
  if (scenario == "peer_killed") {
    survive(comm, where + "lost the connection to rank 1 \\(no heartbeat for 2.5 s: the process died or hung\\)" + rest,
            std::chrono::seconds(10));
  } else if (scenario == "peer_stopped") {
    survive(comm, where + "timed out after 3 s waiting for rank 1 \\(no heartbeat for 2.5 s: the process died or hung\\)" + rest,
            std::chrono::seconds(10));
  } else {
    survive(comm, where + "lost the connection to rank 0 \\(its store at 127.0.0.1:[0-9]+ is unreachable: the process died or hung\\)" + rest,
            std::chrono::seconds(10));
  }
}

struct Outcome {
  std::string error;                              // the launcher's message
  std::vector<std::vector<std::string>> lines;   // per rank
  double seconds = 0;
};

Outcome run_scenario(const std::string& scenario, const std::string& timeout_s, std::chrono::seconds grace) {
  Outcome outcome;
  outcome.lines.resize(2);
  std::mutex mutex;
  launch::LaunchOptions options;
  options.command = {std::filesystem::read_symlink("/proc/self/exe").string(), "--gtest_filter=CommFailureWorker.Run"};
  options.nproc = 2;
  options.env = {{"DS_COMM_FAILURE_WORKER", scenario}, {"DS_TIMEOUT", timeout_s}, {"OMP_NUM_THREADS", "1"}};
  // A survivor that outlives the victim ignores SIGTERM: the grace period bounds its checks.
  options.grace_period = grace;
  options.on_line = [&](size_t index, launch::Stream, const std::string& line) {
    std::lock_guard lock(mutex);
    outcome.lines[index].push_back(line);
  };
  const auto start = Clock::now();
  try {
    launch::launch_local(options);
  } catch (const RuntimeError& e) {
    outcome.error = e.what();
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

TEST(CommFailure, KilledPeerEndsTheJobNamingIt) {
  Outcome o = run_scenario("peer_killed", "10", std::chrono::seconds(15));
  EXPECT_THAT(o.error, testing::StartsWith("launch: rank 1 was killed by signal 9 (SIGKILL); stopped the other 1 process"));
  EXPECT_THAT(o.lines[0], testing::Contains("survivor-ok")) << testing::PrintToString(o.lines[0]);
  EXPECT_LT(o.seconds, 30);
}

TEST(CommFailure, HungPeerTimesOutNamingIt) {
  Outcome o = run_scenario("peer_stopped", "3", std::chrono::seconds(1));
  EXPECT_THAT(o.error, testing::StartsWith("launch: rank 0 exited with status 42; stopped the other 1 process"));
  EXPECT_THAT(o.lines[0], testing::Contains("survivor-ok")) << testing::PrintToString(o.lines[0]);
  EXPECT_LT(o.seconds, 30);
}

TEST(CommFailure, DeadStoreHostIsNamed) {
  Outcome o = run_scenario("master_killed", "10", std::chrono::seconds(15));
  EXPECT_THAT(o.error, testing::StartsWith("launch: rank 0 was killed by signal 9 (SIGKILL); stopped the other 1 process"));
  EXPECT_THAT(o.lines[1], testing::Contains("survivor-ok")) << testing::PrintToString(o.lines[1]);
  EXPECT_LT(o.seconds, 30);
}

TEST(CommRendezvous, MissingRankIsNamed) {
  CommOptions options;
  options.env.world_size = 2;
  options.env.master_port = launch::free_tcp_port();
  options.timeout = std::chrono::seconds(2);
  try {
    Communicator comm(options);
    FAIL() << "rendezvous completed alone";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(e.what(), "rendezvous at 127.0.0.1:" + std::to_string(options.env.master_port) +
                            ": rank 1 of 2 did not join within 2 s; hint: start every rank with the same "
                            "MASTER_ADDR/MASTER_PORT and WORLD_SIZE; in a Slurm batch script start them with srun");
  }
}

TEST(CommRendezvous, UnreachableStoreIsNamed) {
  CommOptions options;
  options.env.rank = 1;
  options.env.world_size = 2;
  options.env.master_port = launch::free_tcp_port();
  options.timeout = std::chrono::seconds(2);
  const auto start = Clock::now();
  try {
    Communicator comm(options);
    FAIL() << "joined a store nobody hosts";
  } catch (const RuntimeError& e) {
    EXPECT_THAT(e.what(), testing::StartsWith("rendezvous at 127.0.0.1:" + std::to_string(options.env.master_port) +
                                              ": rank 1 could not reach rank 0's store within 2 s ["));
    EXPECT_THAT(e.what(), testing::EndsWith("]; hint: is rank 0 running, and is MASTER_ADDR:MASTER_PORT reachable from this node?"));
  }
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace ds::comm
