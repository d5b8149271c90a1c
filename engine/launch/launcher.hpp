#pragma once
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/launch/hostfile.hpp"
#include "engine/launch/supervisor.hpp"

namespace ds::launch {

/// Set to "1" in the environment of every rank launch_local starts.
inline constexpr const char* kLauncherEnv = "DS_LAUNCHED";

/// Ranks to start on this node (`ds train --nproc N`, or this node's share of a multi-node job).
struct LaunchOptions {
  std::vector<std::string> command;       ///< program and arguments every rank runs
  int nproc = 1;                          ///< ranks started here
  int node_rank = 0;                      ///< this node's index (GROUP_RANK)
  int rank_offset = 0;                    ///< global rank of this node's first rank
  int world_size = 0;                     ///< ranks in the whole job; 0: nproc (single node)
  std::string master_addr = "127.0.0.1";  ///< host of rank 0's rendezvous store
  int master_port = 0;                    ///< its port; 0: a free local port (single node only)
  std::vector<std::pair<std::string, std::string>> env;  ///< extra variables for every rank
  std::chrono::milliseconds grace_period{5000};           ///< SIGTERM -> SIGKILL when one rank fails
  std::size_t tail_lines = 20;            ///< lines of the failed rank quoted in the error
  LineSink on_line;                       ///< default: console, "[rank i] " prefix
};

/// The processes launch_local starts: one per local rank, labelled "rank <global rank>", with
/// torchrun's variables MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK,
/// LOCAL_WORLD_SIZE, GROUP_RANK, and OMP_NUM_THREADS = cores / nproc unless already set (N ranks
/// each running all-core OpenMP loops would oversubscribe the CPU). Validates the options
/// (ds::UsageError) and picks the free port when master_port is 0.
std::vector<ProcessSpec> local_rank_processes(const LaunchOptions& options);

/// Starts the local ranks and supervises them (see supervise()): returns when all exit 0,
/// throws ds::RuntimeError naming the first rank that failed and quoting its last lines.
void launch_local(const LaunchOptions& options, const ProcessRunner& runner = supervise);

/// A TCP port that was free on 127.0.0.1 a moment ago (bind to port 0, read it back, close).
int free_tcp_port();

/// Where every rank of a multi-node job runs.
struct NodePlan {
  int node_rank = 0;
  std::string host;
  std::vector<int> slots;  ///< local slot (GPU) ids; their count is the node's nproc
  int rank_offset = 0;     ///< global rank of the node's first rank
};
struct ClusterPlan {
  std::vector<NodePlan> nodes;
  int world_size = 0;
  std::string master_addr;  ///< the first node's host
  int master_port = 29500;
};

/// Nodes in hostfile order; ranks numbered node by node. master_addr defaults to the first host.
ClusterPlan plan_cluster(const std::vector<NodeSlots>& nodes, int master_port = 29500, const std::string& master_addr = {});

/// The LaunchOptions for node `node_rank` of `plan` running `command` per rank; sets
/// CUDA_VISIBLE_DEVICES to the node's slots when they are not simply 0..n-1.
LaunchOptions node_launch_options(const ClusterPlan& plan, int node_rank, const std::vector<std::string>& command);

/// "2,4,4": ranks per node, the --world-layout value the ssh launcher passes to each node.
std::string world_layout(const ClusterPlan& plan);

/// Parses --world-layout ("2,4,4") into a plan whose hosts are unknown except the master.
ClusterPlan plan_from_layout(const std::string& layout, const std::string& master_addr, int master_port);

/// How to reach the other nodes.
struct SshOptions {
  std::vector<std::string> command;   ///< what each node runs, e.g. {"/opt/ds/bin/ds", "train", "cfg.json"}
  std::string workdir;                ///< `cd` here first; default: this process's working directory
  std::vector<std::string> ssh = {"ssh", "-o", "BatchMode=yes"};  ///< ssh program and options; host appended
  /// Variables copied from this environment into each remote command: these names, and every
  /// name starting with one of kForwardedEnvPrefixes.
  std::vector<std::string> forward_env = {"PATH", "LD_LIBRARY_PATH", "PYTHONPATH"};
};

/// Prefixes of environment variables forwarded to remote nodes (DeepSpeed forwards NCCL_*,
/// PYTHON*, UCX_* and friends the same way).
inline const std::vector<std::string> kForwardedEnvPrefixes = {"DS_", "NCCL_", "GLOO_", "OMP_", "MKL_", "TORCH_", "UCX_"};

/// One ssh process per node: `ssh <host> 'cd <dir> && env K=V ... <command> --no-ssh
/// --node-rank K --world-layout L --master-addr A --master-port P'` with every word
/// shell-quoted. `env` is this process's environment (a parameter for tests).
std::vector<ProcessSpec> ssh_processes(const ClusterPlan& plan, const SshOptions& options,
                                       const std::map<std::string, std::string>& env);

/// Quotes `word` for a POSIX shell ('...' with embedded quotes escaped) unless it is plainly safe.
std::string shell_quote(const std::string& word);

/// The launcher flags of `ds train` (cli/train.cpp registers them and fills this struct).
struct LauncherFlags {
  int nproc = 0;               ///< --nproc N: N local ranks
  std::string hostfile;        ///< --hostfile FILE: DeepSpeed hostfile; ranks on every node over ssh
  std::string include;         ///< --include SPEC
  std::string exclude;         ///< --exclude SPEC
  bool no_ssh = false;         ///< --no-ssh: start only this node's ranks (schedulers run one per node)
  int node_rank = -1;          ///< --node-rank K (with --no-ssh)
  std::string world_layout;    ///< --world-layout 4,4 (with --no-ssh, instead of --hostfile)
  std::string master_addr;     ///< --master-addr (default: first host, or 127.0.0.1)
  int master_port = 0;         ///< --master-port (default: free port locally, 29500 across nodes)
};

/// `args` without the launcher flags above and their values (both `--nproc 2` and `--nproc=2`
/// forms): what each rank is started with, so a rank does not launch ranks itself.
std::vector<std::string> without_launcher_flags(const std::vector<std::string>& args);

/// True when the flags ask for a launcher (any of --nproc, --hostfile, --no-ssh given); false
/// means: run the training in this process (single rank, or under torchrun/srun/mpirun).
bool wants_launcher(const LauncherFlags& flags);

/// Runs the launcher the flags ask for. `rank_command` is what each rank runs (the ds binary
/// and the train arguments without the launcher flags); `ssh` how to reach other nodes (its
/// command is ignored: rank_command is used). Throws ds::UsageError for contradictory flags,
/// ds::RuntimeError when a rank or node fails.
void run_launcher(const LauncherFlags& flags, const std::vector<std::string>& rank_command, const SshOptions& ssh = {},
                  const ProcessRunner& runner = supervise);

}  // namespace ds::launch
