#pragma once
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::comm {

/// Which launcher started this process, recognised from its environment variables.
enum class LaunchSource { kSingle, kTorchrun, kSlurm, kOpenMpi };

/// "single", "torchrun", "slurm" or "openmpi".
std::string to_string(LaunchSource source);

/// Where this process sits in the job and where the rendezvous store (hosted by rank 0) listens.
struct DistEnv {
  int rank = 0;                           ///< global rank in [0, world_size)
  int world_size = 1;                     ///< number of ranks in the job
  int local_rank = 0;                     ///< rank among the processes on this node
  int local_world_size = 1;               ///< processes on this node
  int node_rank = 0;                      ///< index of this node in the job
  std::string master_addr = "127.0.0.1";  ///< host of rank 0's TCPStore
  int master_port = 29500;                ///< port of rank 0's TCPStore
  LaunchSource source = LaunchSource::kSingle;
};

/// Environment variables by name; a test passes its own table instead of the real environment.
using EnvMap = std::map<std::string, std::string>;

/// The variables of this process (environ).
EnvMap current_environment();

/// Recognises the launch environment, first match wins:
/// 1. torchrun (and `ds train --nproc`): RANK and WORLD_SIZE set; MASTER_ADDR, MASTER_PORT
///    required; LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK optional (single-node defaults).
/// 2. Open MPI (mpirun): OMPI_COMM_WORLD_RANK set; OMPI_COMM_WORLD_SIZE, _LOCAL_RANK,
///    _LOCAL_SIZE read; MASTER_ADDR and MASTER_PORT required (Open MPI has no rendezvous host).
///    Checked before Slurm because mpirun inside an allocation inherits the batch step's SLURM_*.
/// 3. Slurm (srun): SLURM_PROCID set; SLURM_NTASKS, SLURM_LOCALID, SLURM_NODEID; tasks on this
///    node from SLURM_NTASKS_PER_NODE or SLURM_TASKS_PER_NODE; master = MASTER_ADDR or the first
///    host of SLURM_JOB_NODELIST (SLURM_NODELIST); port = MASTER_PORT or derived from SLURM_JOB_ID.
/// 4. Otherwise a single process: rank 0 of 1.
/// Missing, garbled or inconsistent variables throw ds::UsageError naming the variable.
DistEnv detect_dist_env(const EnvMap& env);

/// detect_dist_env(current_environment()).
DistEnv detect_dist_env();

/// Expands a Slurm hostlist: "gpu[01-04,07],login1" -> gpu01 gpu02 gpu03 gpu04 gpu07 login1.
/// Zero padding follows the range's first bound; several bracket groups in one name multiply
/// ("r[1-2]n[1-2]" -> r1n1 r1n2 r2n1 r2n2). Throws ds::UsageError on malformed lists; `variable`
/// names the source in the message.
std::vector<std::string> expand_hostlist(std::string_view list, const std::string& variable = "SLURM_JOB_NODELIST");

/// Expands Slurm's compressed task counts: "2(x3),1" -> 2 2 2 1.
std::vector<int> expand_tasks_per_node(std::string_view list, const std::string& variable = "SLURM_TASKS_PER_NODE");

/// Default rendezvous port under Slurm when MASTER_PORT is unset: 10000 + the last four digits of
/// the job id, so concurrent jobs on shared nodes rarely collide (PyTorch Lightning's rule).
int slurm_default_port(std::string_view job_id);

/// Default collective timeout when neither DS_TIMEOUT nor the config sets one: 10 minutes.
inline constexpr std::chrono::seconds kDefaultCommTimeout{600};

/// The collective timeout: DS_TIMEOUT (whole seconds > 0) when set, else `configured`, else
/// 600 s. The environment wins so that an operator can shorten it without editing a config.
std::chrono::seconds comm_timeout(const EnvMap& env, std::optional<std::chrono::seconds> configured = std::nullopt);

}  // namespace ds::comm
