// Launch-environment recognition: torchrun, Slurm (with hostlist expansion), Open MPI, errors.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "engine/comm/dist_env.hpp"

namespace ds::comm {
namespace {

struct Expected {
  int rank, world_size, local_rank, local_world_size, node_rank;
  std::string master_addr;
  int master_port;
  LaunchSource source;
};

void expect_env(const EnvMap& env, const Expected& e) {
  DistEnv d = detect_dist_env(env);
  EXPECT_EQ(d.rank, e.rank);
  EXPECT_EQ(d.world_size, e.world_size);
  EXPECT_EQ(d.local_rank, e.local_rank);
  EXPECT_EQ(d.local_world_size, e.local_world_size);
  EXPECT_EQ(d.node_rank, e.node_rank);
  EXPECT_EQ(d.master_addr, e.master_addr);
  EXPECT_EQ(d.master_port, e.master_port);
  EXPECT_EQ(d.source, e.source);
}

EnvMap torchrun() {
  return {{"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29400"}, {"RANK", "5"}, {"WORLD_SIZE", "8"},
          {"LOCAL_RANK", "1"},         {"LOCAL_WORLD_SIZE", "4"}, {"GROUP_RANK", "1"}};
}

EnvMap slurm() {
  return {{"SLURM_PROCID", "5"},          {"SLURM_NTASKS", "8"},   {"SLURM_LOCALID", "1"},
          {"SLURM_NODEID", "2"},          {"SLURM_TASKS_PER_NODE", "2(x3),2"},
          {"SLURM_JOB_NODELIST", "gpu[01-04,07],login1"}, {"SLURM_JOB_ID", "123456"}};
}

EnvMap openmpi() {
  return {{"OMPI_COMM_WORLD_RANK", "6"}, {"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "2"},
          {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}, {"MASTER_ADDR", "head"}, {"MASTER_PORT", "29500"}};
}

EnvMap with(EnvMap env, const std::string& name, const std::string& value) {
  env[name] = value;
  return env;
}

EnvMap without(EnvMap env, const std::string& name) {
  env.erase(name);
  return env;
}

TEST(CommDistEnv, SingleProcessByDefault) {
  expect_env({{"PATH", "/usr/bin"}}, {0, 1, 0, 1, 0, "127.0.0.1", 29500, LaunchSource::kSingle});
  EXPECT_EQ(to_string(LaunchSource::kSingle), "single");
}

TEST(CommDistEnv, Torchrun) {
  expect_env(torchrun(), {5, 8, 1, 4, 1, "10.0.0.1", 29400, LaunchSource::kTorchrun});
  // Without the local variables: one node, local == global.
  EnvMap minimal = without(without(without(torchrun(), "LOCAL_RANK"), "LOCAL_WORLD_SIZE"), "GROUP_RANK");
  expect_env(minimal, {5, 8, 5, 8, 0, "10.0.0.1", 29400, LaunchSource::kTorchrun});
}

TEST(CommDistEnv, Slurm) {
  expect_env(slurm(), {5, 8, 1, 2, 2, "gpu01", 13456, LaunchSource::kSlurm});
  expect_env(with(with(slurm(), "MASTER_ADDR", "head"), "MASTER_PORT", "29999"),
             {5, 8, 1, 2, 2, "head", 29999, LaunchSource::kSlurm});
  expect_env(with(slurm(), "SLURM_NTASKS_PER_NODE", "4"), {5, 8, 1, 4, 2, "gpu01", 13456, LaunchSource::kSlurm});
  // A step on part of the allocation: its own node list comes first.
  expect_env(with(slurm(), "SLURM_STEP_NODELIST", "gpu[03-04]"), {5, 8, 1, 2, 2, "gpu03", 13456, LaunchSource::kSlurm});
  EnvMap old_names = with(without(without(slurm(), "SLURM_NTASKS"), "SLURM_JOB_NODELIST"), "SLURM_NPROCS", "8");
  expect_env(with(old_names, "SLURM_NODELIST", "n[7-8]"), {5, 8, 1, 2, 2, "n7", 13456, LaunchSource::kSlurm});
}

TEST(CommDistEnv, OpenMpi) {
  expect_env(openmpi(), {6, 8, 2, 4, 1, "head", 29500, LaunchSource::kOpenMpi});
}

TEST(CommDistEnv, Precedence) {
  EnvMap all = torchrun();
  for (const auto& [k, v] : slurm()) all.emplace(k, v);
  EXPECT_EQ(detect_dist_env(all).source, LaunchSource::kTorchrun);
  EnvMap mpi_in_slurm = openmpi();
  for (const auto& [k, v] : slurm()) mpi_in_slurm.emplace(k, v);
  EXPECT_EQ(detect_dist_env(mpi_in_slurm).source, LaunchSource::kOpenMpi);
}

TEST(CommDistEnv, ErrorsNameTheVariable) {
  const std::string master_hint = "; hint: export MASTER_ADDR=<host of rank 0> and MASTER_PORT=<free port> for every rank";
  const std::vector<std::pair<EnvMap, std::string>> cases = {
      {without(torchrun(), "MASTER_ADDR"), "environment variable MASTER_ADDR: not set; expected the host of rank 0" + master_hint},
      {with(torchrun(), "MASTER_ADDR", ""), "environment variable MASTER_ADDR: empty; expected the host of rank 0" + master_hint},
      {with(torchrun(), "MASTER_PORT", "70000"),
       "environment variable MASTER_PORT: not a TCP port (got 70000); expected a TCP port in 1..65535" + master_hint},
      {with(torchrun(), "MASTER_PORT", "http"),
       "environment variable MASTER_PORT: not a whole number (got 'http'); expected a TCP port in 1..65535"},
      {with(torchrun(), "RANK", "abc"), "environment variable RANK: not a whole number (got 'abc'); expected this process's global rank"},
      {with(torchrun(), "RANK", "-1"), "environment variable RANK: not a whole number (got '-1'); expected this process's global rank"},
      {with(torchrun(), "RANK", "8"), "environment variable RANK: out of range (got 8); expected 0 <= RANK < WORLD_SIZE = 8"},
      {without(torchrun(), "WORLD_SIZE"),
       "environment variable WORLD_SIZE: not set; expected the number of ranks (torchrun sets it with RANK)"},
      {with(torchrun(), "WORLD_SIZE", "0"),
       "environment variable WORLD_SIZE: must be at least 1 (got 0); expected a positive count of processes"},
      {with(torchrun(), "LOCAL_RANK", "4"),
       "environment variable LOCAL_RANK: out of range (got 4); expected 0 <= LOCAL_RANK < LOCAL_WORLD_SIZE = 4"},
      {with(with(torchrun(), "LOCAL_WORLD_SIZE", "16"), "LOCAL_RANK", "9"),
       "environment variable LOCAL_WORLD_SIZE: larger than the world size (got 16); expected at most 8"},
      {with(slurm(), "SLURM_PROCID", "8"),
       "environment variable SLURM_PROCID: out of range (got 8); expected 0 <= SLURM_PROCID < SLURM_NTASKS = 8"},
      {with(slurm(), "SLURM_JOB_NODELIST", "gpu[01-04"),
       "environment variable SLURM_JOB_NODELIST: unbalanced brackets (got 'gpu[01-04'); expected a Slurm hostlist like "
       "'gpu[01-04,07],login1'"},
      {with(slurm(), "SLURM_JOB_NODELIST", "gpu[04-01]"),
       "environment variable SLURM_JOB_NODELIST: bad range '04-01' (got 'gpu[04-01]'); expected ranges like [01-04,07] inside "
       "brackets"},
      {without(slurm(), "SLURM_JOB_NODELIST"),
       "environment variable SLURM_JOB_NODELIST: not set (nor MASTER_ADDR); expected the job's hostlist; hint: start ranks "
       "with srun, or export MASTER_ADDR"},
      {without(slurm(), "SLURM_JOB_ID"),
       "environment variable SLURM_JOB_ID: not set; expected the Slurm job id; hint: or export MASTER_PORT"},
      {with(slurm(), "SLURM_TASKS_PER_NODE", "2(x3"),
       "environment variable SLURM_TASKS_PER_NODE: bad item '2(x3' (got '2(x3'); expected counts like '2(x3),1'"},
      {with(slurm(), "SLURM_NODEID", "4"),
       "environment variable SLURM_NODEID: out of range (got 4); expected less than the 4 nodes of "
       "SLURM_TASKS_PER_NODE='2(x3),2'"},
      {without(slurm(), "SLURM_LOCALID"), "environment variable SLURM_LOCALID: not set; expected this task's rank on its node"},
      {without(openmpi(), "MASTER_ADDR"),
       "environment variable MASTER_ADDR: not set; expected the host of rank 0; hint: Open MPI has no rendezvous host; run "
       "mpirun -x MASTER_ADDR=<host of rank 0> -x MASTER_PORT=<free port>"},
      {without(openmpi(), "OMPI_COMM_WORLD_LOCAL_SIZE"),
       "environment variable OMPI_COMM_WORLD_LOCAL_SIZE: not set; expected the number of ranks on this node"},
  };
  for (const auto& [env, message] : cases) {
    try {
      detect_dist_env(env);
      ADD_FAILURE() << "no error; expected: " << message;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.what(), message);
      EXPECT_EQ(e.exit_code(), 2);
    }
  }
}

TEST(CommDistEnv, HostlistExpansion) {
  using V = std::vector<std::string>;
  EXPECT_EQ(expand_hostlist("gpu[01-04,07],login1"), (V{"gpu01", "gpu02", "gpu03", "gpu04", "gpu07", "login1"}));
  EXPECT_EQ(expand_hostlist("node1"), (V{"node1"}));
  EXPECT_EQ(expand_hostlist("a[9-11]"), (V{"a9", "a10", "a11"}));
  EXPECT_EQ(expand_hostlist("a[09-11]"), (V{"a09", "a10", "a11"}));
  EXPECT_EQ(expand_hostlist("r[1-2]n[1-2]"), (V{"r1n1", "r1n2", "r2n1", "r2n2"}));
  EXPECT_EQ(expand_hostlist("x[1,3-4]-ib,y"), (V{"x1-ib", "x3-ib", "x4-ib", "y"}));
  for (const char* bad : {"a[]", "a[1-]", "a]1[", "a,,b", "a[x]", "a[[1]]"}) {
    EXPECT_THROW(expand_hostlist(bad), UsageError) << bad;
  }
  EXPECT_EQ(expand_tasks_per_node("2(x3),1"), (std::vector<int>{2, 2, 2, 1}));
  EXPECT_EQ(expand_tasks_per_node("4"), (std::vector<int>{4}));
  EXPECT_THROW(expand_tasks_per_node("0"), UsageError);
  EXPECT_EQ(slurm_default_port("123456"), 13456);
  EXPECT_EQ(slurm_default_port("7"), 10007);
}

TEST(CommDistEnv, Timeout) {
  using std::chrono::seconds;
  EXPECT_EQ(comm_timeout({}), seconds(600));
  EXPECT_EQ(comm_timeout({}, seconds(30)), seconds(30));
  EXPECT_EQ(comm_timeout({{"DS_TIMEOUT", "10"}}, seconds(30)), seconds(10));
  for (const char* bad : {"0", "ten", "1.5", ""}) {
    try {
      comm_timeout({{"DS_TIMEOUT", bad}});
      ADD_FAILURE() << bad;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.what(), "environment variable DS_TIMEOUT: not a positive whole number of seconds (got '" + std::string(bad) +
                              "'); expected e.g. DS_TIMEOUT=600");
    }
  }
}

}  // namespace
}  // namespace ds::comm
