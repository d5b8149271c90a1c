// Multi-node launch: rank layout, the ssh command lines, node-rank mode, and the dispatch of
// `ds train`'s launcher flags, up to the exec boundary (an injected runner records the
// processes; one test runs them through a fake ssh that evaluates the remote command locally).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/error.hpp"
#include "engine/launch/launcher.hpp"

namespace ds::launch {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;
using testing::ElementsAre;

/// A hostfile in the temp directory, removed at the end of the test.
class LaunchMultiNode : public testing::Test {
 protected:
  void write(const std::string& text) { std::ofstream(path_) << text; }
  void TearDown() override { std::filesystem::remove(path_); }
  // Unique per test and process: ctest may run these tests in parallel.
  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("ds_hostfile_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
                        std::to_string(getpid())))
                          .string();
};

struct Recorded {
  std::vector<ProcessSpec> specs;
  ProcessRunner runner() {
    return [this](const std::vector<ProcessSpec>& s, const SuperviseOptions&) { specs = s; };
  }
};

std::string env_of(const ProcessSpec& spec, const std::string& name) {
  for (const auto& [k, v] : spec.env) {
    if (k == name) return v;
  }
  return "(unset)";
}

ClusterPlan two_nodes() {
  return plan_cluster({{"worker-0", {0, 1}}, {"worker-1", {1, 3}}});
}

TEST(LaunchClusterPlan, NumbersRanksNodeByNode) {
  ClusterPlan plan = plan_cluster({{"a", {0, 1, 2, 3}}, {"b", {0, 1}}, {"c", {0, 1, 2}}}, 29600);
  EXPECT_EQ(plan.world_size, 9);
  EXPECT_EQ(plan.master_addr, "a");
  EXPECT_EQ(plan.nodes[2].rank_offset, 6);
  EXPECT_EQ(world_layout(plan), "4,2,3");
  LaunchOptions c = node_launch_options(plan, 2, {"ds", "train"});
  EXPECT_EQ(c.nproc, 3);
  EXPECT_EQ(c.rank_offset, 6);
  EXPECT_EQ(c.world_size, 9);
  EXPECT_EQ(c.master_addr, "a");
  EXPECT_EQ(c.master_port, 29600);
  EXPECT_TRUE(c.env.empty());  // slots 0..2: no CUDA_VISIBLE_DEVICES
  EXPECT_THAT(node_launch_options(two_nodes(), 1, {"ds"}).env, ElementsAre(std::pair<std::string, std::string>("CUDA_VISIBLE_DEVICES", "1,3")));
  ClusterPlan from_layout = plan_from_layout("4,2,3", "head", 29700);
  EXPECT_EQ(world_layout(from_layout), "4,2,3");
  EXPECT_EQ(from_layout.master_addr, "head");
  EXPECT_EQ(from_layout.nodes[1].rank_offset, 4);
}

TEST(LaunchClusterPlan, Errors) {
  auto message = [](auto fn) {
    try {
      fn();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(message([] { node_launch_options(two_nodes(), 2, {"ds"}); }),
            "--node-rank: out of range (got 2); expected 0 <= node rank < 2 nodes");
  EXPECT_EQ(message([] { plan_from_layout("2,,3", "head", 29500); }),
            "--world-layout: bad rank count '' (got '2,,3'); expected positive ranks per node, e.g. 4,4,2");
  EXPECT_EQ(message([] { plan_from_layout("2,0", "head", 29500); }),
            "--world-layout: bad rank count '0' (got '2,0'); expected positive ranks per node, e.g. 4,4,2");
  EXPECT_EQ(message([] { plan_from_layout("2", "", 29500); }), "--world-layout: needs --master-addr");
}

TEST(LaunchSsh, QuotesForThePosixShell) {
  EXPECT_EQ(shell_quote("train"), "train");
  EXPECT_EQ(shell_quote("A=1,2"), "A=1,2");
  EXPECT_EQ(shell_quote("my config.json"), "'my config.json'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("$HOME;rm"), "'$HOME;rm'");
}

TEST(LaunchSsh, CommandLines) {
  SshOptions options;
  options.command = {"/opt/ds/bin/ds", "train", "my config.json"};
  options.workdir = "/work/run 1";
  const std::map<std::string, std::string> env = {{"PATH", "/usr/bin"}, {"DS_TIMEOUT", "60"}, {"HOME", "/root"},
                                                  {"NCCL_DEBUG", "INFO"}, {"SECRET", "x"}, {"PYTHONPATH", "/a b"}};
  std::vector<ProcessSpec> specs = ssh_processes(two_nodes(), options, env);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].label, "node worker-0");
  const std::string prefix = "cd '/work/run 1' && env DS_TIMEOUT=60 NCCL_DEBUG=INFO PATH=/usr/bin 'PYTHONPATH=/a b' ";
  EXPECT_THAT(specs[0].argv, ElementsAre("ssh", "-o", "BatchMode=yes", "worker-0",
                                         prefix + "/opt/ds/bin/ds train 'my config.json' --no-ssh --node-rank 0 "
                                                  "--world-layout 2,2 --master-addr worker-0 --master-port 29500"));
  EXPECT_THAT(specs[1].argv, ElementsAre("ssh", "-o", "BatchMode=yes", "worker-1",
                                         prefix + "CUDA_VISIBLE_DEVICES=1,3 /opt/ds/bin/ds train 'my config.json' --no-ssh "
                                                  "--node-rank 1 --world-layout 2,2 --master-addr worker-0 --master-port 29500"));
}

TEST_F(LaunchMultiNode, LauncherModes) {
  write("worker-0 slots=2\nworker-1 slots=4\n");
  const std::vector<std::string> cmd = {"/opt/ds/bin/ds", "train", "cfg.json"};
  Recorded local;
  LauncherFlags nproc;
  nproc.nproc = 3;
  EXPECT_TRUE(wants_launcher(nproc));
  EXPECT_FALSE(wants_launcher(LauncherFlags{}));
  run_launcher(nproc, cmd, {}, local.runner());
  ASSERT_EQ(local.specs.size(), 3u);
  EXPECT_EQ(local.specs[2].argv, cmd);
  EXPECT_EQ(env_of(local.specs[2], "MASTER_ADDR"), "127.0.0.1");

  Recorded ssh;
  LauncherFlags hostfile;
  hostfile.hostfile = path_;
  hostfile.include = "worker-0@worker-1:1,3";
  run_launcher(hostfile, cmd, {}, ssh.runner());
  ASSERT_EQ(ssh.specs.size(), 2u);
  EXPECT_EQ(ssh.specs[1].label, "node worker-1");
  EXPECT_THAT(ssh.specs[1].argv.back(), testing::EndsWith("CUDA_VISIBLE_DEVICES=1,3 /opt/ds/bin/ds train cfg.json --no-ssh "
                                                          "--node-rank 1 --world-layout 2,2 --master-addr worker-0 "
                                                          "--master-port 29500"));

  Recorded node;
  LauncherFlags scheduler = hostfile;  // the same command on every node, plus its index
  scheduler.no_ssh = true;
  scheduler.node_rank = 1;
  run_launcher(scheduler, cmd, {}, node.runner());
  ASSERT_EQ(node.specs.size(), 2u);
  EXPECT_EQ(node.specs[1].label, "rank 3");
  EXPECT_EQ(env_of(node.specs[1], "RANK"), "3");
  EXPECT_EQ(env_of(node.specs[1], "LOCAL_RANK"), "1");
  EXPECT_EQ(env_of(node.specs[1], "WORLD_SIZE"), "4");
  EXPECT_EQ(env_of(node.specs[1], "GROUP_RANK"), "1");
  EXPECT_EQ(env_of(node.specs[1], "MASTER_ADDR"), "worker-0");
  EXPECT_EQ(env_of(node.specs[1], "MASTER_PORT"), "29500");
  EXPECT_EQ(env_of(node.specs[1], "CUDA_VISIBLE_DEVICES"), "1,3");

  Recorded layout;
  LauncherFlags remote;  // what the ssh launcher runs on each node
  remote.no_ssh = true;
  remote.node_rank = 1;
  remote.world_layout = "2,2";
  remote.master_addr = "worker-0";
  remote.master_port = 29501;
  run_launcher(remote, cmd, {}, layout.runner());
  ASSERT_EQ(layout.specs.size(), 2u);
  EXPECT_EQ(env_of(layout.specs[0], "RANK"), "2");
  EXPECT_EQ(env_of(layout.specs[0], "MASTER_PORT"), "29501");
  EXPECT_EQ(env_of(layout.specs[0], "CUDA_VISIBLE_DEVICES"), "(unset)");  // inherited from the ssh command
}

TEST_F(LaunchMultiNode, LocalHostfileRunsWithoutSsh) {
  write("localhost slots=2\n");
  Recorded r;
  LauncherFlags flags;
  flags.hostfile = path_;
  run_launcher(flags, {"ds", "train"}, {}, r.runner());
  ASSERT_EQ(r.specs.size(), 2u);
  EXPECT_EQ(r.specs[0].argv, (std::vector<std::string>{"ds", "train"}));
  EXPECT_EQ(env_of(r.specs[1], "MASTER_ADDR"), "127.0.0.1");
}

TEST(LaunchFlags, ContradictoryFlags) {
  auto flags = [](auto edit) {
    LauncherFlags f;
    edit(f);
    return f;
  };
  const std::vector<std::pair<LauncherFlags, std::string>> cases = {
      {flags([](auto& f) { f.no_ssh = true; }), "--no-ssh: needs --node-rank K (this node's index in the hostfile)"},
      {flags([](auto& f) { f.node_rank = 1; }),
       "--node-rank: only applies with --no-ssh; hint: run the same command with --no-ssh --node-rank K on every node"},
      {flags([](auto& f) { f.include = "a"; }), "--include: needs --hostfile"},
      {flags([](auto& f) { f.exclude = "a"; }), "--exclude: needs --hostfile"},
      {flags([](auto& f) { f.nproc = 2, f.hostfile = "h"; }),
       "--nproc: cannot be combined with --hostfile or --world-layout; hint: the hostfile's slots=N say how many ranks each "
       "node runs"},
      {flags([](auto& f) { f.world_layout = "2,2"; }), "--world-layout: only applies with --no-ssh and without --hostfile"},
      {flags([](auto& f) { f.no_ssh = true, f.node_rank = 0; }),
       "--no-ssh: needs --hostfile FILE (or --world-layout with --master-addr)"},
      {flags([](auto& f) { f.nproc = -2; }), "--nproc: must be at least 1 (got -2)"},
      {LauncherFlags{}, "launch: nothing to launch; expected --nproc N or --hostfile FILE"},
  };
  Recorded r;
  for (const auto& [f, message] : cases) {
    try {
      run_launcher(f, {"ds"}, {}, r.runner());
      ADD_FAILURE() << message;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.what(), message);
    }
  }
}

TEST_F(LaunchMultiNode, RemoteCommandSurvivesARealShell) {
  write("nodeA slots=1\nnodeB slots=2\n");
  LauncherFlags flags;
  flags.hostfile = path_;
  SshOptions ssh;
  ssh.ssh = {"sh", "-c", "shift; eval \"$1\"", "fake-ssh"};  // $1 = host (dropped), then the remote command
  std::mutex mutex;
  std::map<size_t, std::vector<std::string>> lines;
  ProcessRunner runner = [&](const std::vector<ProcessSpec>& specs, const SuperviseOptions& options) {
    SuperviseOptions o = options;
    o.on_line = [&](size_t index, Stream, const std::string& line) {
      std::lock_guard lock(mutex);
      lines[index].push_back(line);
    };
    supervise(specs, o);
  };
  run_launcher(flags, {"echo", "it's a 'test'"}, ssh, runner);
  EXPECT_THAT(lines[0], ElementsAre("it's a 'test' --no-ssh --node-rank 0 --world-layout 1,2 --master-addr nodeA --master-port 29500"));
  EXPECT_THAT(lines[1], ElementsAre("it's a 'test' --no-ssh --node-rank 1 --world-layout 1,2 --master-addr nodeA --master-port 29500"));
}

}  // namespace
}  // namespace ds::launch

namespace ds::launch {
namespace {

TEST(LaunchFlags, RanksAreStartedWithoutTheLauncherFlags) {
  std::vector<std::string> args = {"/x/ds", "train", "--nproc", "4", "--config", "c.json", "--hostfile=h",
                                   "--no-ssh", "--master-port", "29501", "--steps", "3", "--include", "a:0"};
  EXPECT_EQ(without_launcher_flags(args),
            (std::vector<std::string>{"/x/ds", "train", "--config", "c.json", "--steps", "3"}));
  // Flags that merely start with a launcher flag's name are kept.
  EXPECT_EQ(without_launcher_flags({"ds", "train", "--nprocs-hint", "2"}),
            (std::vector<std::string>{"ds", "train", "--nprocs-hint", "2"}));
}

}  // namespace
}  // namespace ds::launch
