#include "engine/comm/dist_env.hpp"

#include <charconv>
#include <climits>

#include "common/error.hpp"

extern char** environ;  // POSIX: the process environment, read by current_environment()

namespace ds::comm {
namespace {

[[noreturn]] void bad_variable(const std::string& name, const std::string& what, const std::string& got,
                               const std::string& expected, const std::string& hint = {}) {
  throw UsageError(format_error("environment variable " + name, what, got, expected, hint));
}

const std::string* find(const EnvMap& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? nullptr : &it->second;
}

/// Strict decimal parse of a whole string (no sign, no spaces, no trailing text).
std::optional<long> parse_whole(std::string_view text) {
  long value = 0;
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > INT_MAX) return std::nullopt;
  return value;
}

int int_variable(const EnvMap& env, const std::string& name, const std::string& expected) {
  const std::string* text = find(env, name);
  if (!text) bad_variable(name, "not set", {}, expected);
  auto value = parse_whole(*text);
  if (!value) bad_variable(name, "not a whole number", "'" + *text + "'", expected);
  return static_cast<int>(*value);
}

std::optional<int> optional_int(const EnvMap& env, const std::string& name, const std::string& expected) {
  if (!find(env, name)) return std::nullopt;
  return int_variable(env, name, expected);
}

std::string string_variable(const EnvMap& env, const std::string& name, const std::string& expected,
                            const std::string& hint) {
  const std::string* text = find(env, name);
  if (!text || text->empty()) bad_variable(name, text ? "empty" : "not set", {}, expected, hint);
  return *text;
}

int port_variable(const EnvMap& env, const std::string& name, const std::string& hint) {
  int port = int_variable(env, name, "a TCP port in 1..65535");
  if (port < 1 || port > 65535) bad_variable(name, "not a TCP port", std::to_string(port), "a TCP port in 1..65535", hint);
  return port;
}

/// Checks 0 <= index < count and count >= 1 for a pair of variables (RANK/WORLD_SIZE, ...).
void check_index(const std::string& index_name, int index, const std::string& count_name, int count) {
  if (count < 1) bad_variable(count_name, "must be at least 1", std::to_string(count), "a positive count of processes");
  if (index >= count) {
    bad_variable(index_name, "out of range", std::to_string(index),
                 "0 <= " + index_name + " < " + count_name + " = " + std::to_string(count));
  }
}

void check_local(const DistEnv& d, const std::string& local_size_name) {
  if (d.local_world_size > d.world_size) {
    bad_variable(local_size_name, "larger than the world size", std::to_string(d.local_world_size),
                 "at most " + std::to_string(d.world_size));
  }
}

const char kMasterHint[] = "export MASTER_ADDR=<host of rank 0> and MASTER_PORT=<free port> for every rank";

DistEnv torchrun_env(const EnvMap& env) {
  DistEnv d;
  d.source = LaunchSource::kTorchrun;
  d.world_size = int_variable(env, "WORLD_SIZE", "the number of ranks (torchrun sets it with RANK)");
  d.rank = int_variable(env, "RANK", "this process's global rank");
  check_index("RANK", d.rank, "WORLD_SIZE", d.world_size);
  // Without the local variables torchrun's contract is a single node: local == global.
  d.local_world_size = optional_int(env, "LOCAL_WORLD_SIZE", "the number of ranks on this node").value_or(d.world_size);
  d.local_rank = optional_int(env, "LOCAL_RANK", "this process's rank on its node").value_or(d.rank);
  check_index("LOCAL_RANK", d.local_rank, "LOCAL_WORLD_SIZE", d.local_world_size);
  check_local(d, "LOCAL_WORLD_SIZE");
  d.node_rank = optional_int(env, "GROUP_RANK", "this node's index").value_or(0);
  d.master_addr = string_variable(env, "MASTER_ADDR", "the host of rank 0", kMasterHint);
  d.master_port = port_variable(env, "MASTER_PORT", kMasterHint);
  return d;
}

DistEnv openmpi_env(const EnvMap& env) {
  DistEnv d;
  d.source = LaunchSource::kOpenMpi;
  d.world_size = int_variable(env, "OMPI_COMM_WORLD_SIZE", "the number of ranks (mpirun sets it)");
  d.rank = int_variable(env, "OMPI_COMM_WORLD_RANK", "this process's global rank");
  check_index("OMPI_COMM_WORLD_RANK", d.rank, "OMPI_COMM_WORLD_SIZE", d.world_size);
  d.local_world_size = int_variable(env, "OMPI_COMM_WORLD_LOCAL_SIZE", "the number of ranks on this node");
  d.local_rank = int_variable(env, "OMPI_COMM_WORLD_LOCAL_RANK", "this process's rank on its node");
  check_index("OMPI_COMM_WORLD_LOCAL_RANK", d.local_rank, "OMPI_COMM_WORLD_LOCAL_SIZE", d.local_world_size);
  check_local(d, "OMPI_COMM_WORLD_LOCAL_SIZE");
  // Open MPI exports no node index; this is exact for its default by-slot mapping.
  d.node_rank = (d.rank - d.local_rank) / d.local_world_size;
  const std::string hint = "Open MPI has no rendezvous host; run mpirun -x MASTER_ADDR=<host of rank 0> -x MASTER_PORT=<free port>";
  d.master_addr = string_variable(env, "MASTER_ADDR", "the host of rank 0", hint);
  d.master_port = port_variable(env, "MASTER_PORT", hint);
  return d;
}

int slurm_local_world_size(const EnvMap& env, int node_rank) {
  if (find(env, "SLURM_NTASKS_PER_NODE")) {
    return int_variable(env, "SLURM_NTASKS_PER_NODE", "the number of tasks per node");
  }
  const std::string* list = find(env, "SLURM_TASKS_PER_NODE");
  if (!list) {
    bad_variable("SLURM_TASKS_PER_NODE", "not set (nor SLURM_NTASKS_PER_NODE)", {}, "the tasks per node, e.g. '2(x3),1'",
                 "start ranks with srun, which sets it");
  }
  std::vector<int> counts = expand_tasks_per_node(*list);
  if (node_rank >= static_cast<int>(counts.size())) {
    bad_variable("SLURM_NODEID", "out of range", std::to_string(node_rank),
                 "less than the " + std::to_string(counts.size()) + " nodes of SLURM_TASKS_PER_NODE='" + *list + "'");
  }
  return counts[node_rank];
}

std::string slurm_master(const EnvMap& env) {
  if (find(env, "MASTER_ADDR")) return string_variable(env, "MASTER_ADDR", "the host of rank 0", {});
  // The step's node list when srun ran a subset of the allocation; rank 0 runs on its first node
  // under Slurm's default block distribution.
  for (const char* name : {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"}) {
    if (const std::string* list = find(env, name)) {
      std::vector<std::string> hosts = expand_hostlist(*list, name);
      if (hosts.empty()) bad_variable(name, "lists no host", "'" + *list + "'", "a Slurm hostlist like 'gpu[01-04]'");
      return hosts.front();
    }
  }
  bad_variable("SLURM_JOB_NODELIST", "not set (nor MASTER_ADDR)", {}, "the job's hostlist", "start ranks with srun, or export MASTER_ADDR");
}

DistEnv slurm_env(const EnvMap& env) {
  DistEnv d;
  d.source = LaunchSource::kSlurm;
  const std::string tasks_name = find(env, "SLURM_NTASKS") || !find(env, "SLURM_NPROCS") ? "SLURM_NTASKS" : "SLURM_NPROCS";
  d.world_size = int_variable(env, tasks_name, "the number of tasks (srun sets it)");
  d.rank = int_variable(env, "SLURM_PROCID", "this task's global rank");
  check_index("SLURM_PROCID", d.rank, tasks_name, d.world_size);
  d.node_rank = optional_int(env, "SLURM_NODEID", "this node's index in the job").value_or(0);
  d.local_rank = int_variable(env, "SLURM_LOCALID", "this task's rank on its node");
  d.local_world_size = slurm_local_world_size(env, d.node_rank);
  const std::string local_name = find(env, "SLURM_NTASKS_PER_NODE") ? "SLURM_NTASKS_PER_NODE" : "SLURM_TASKS_PER_NODE";
  check_index("SLURM_LOCALID", d.local_rank, local_name, d.local_world_size);
  check_local(d, local_name);
  d.master_addr = slurm_master(env);
  if (find(env, "MASTER_PORT")) {
    d.master_port = port_variable(env, "MASTER_PORT", {});
  } else {
    d.master_port = slurm_default_port(string_variable(env, "SLURM_JOB_ID", "the Slurm job id", "or export MASTER_PORT"));
  }
  return d;
}

/// Splits on commas that are not inside brackets.
std::vector<std::string> split_top_level(std::string_view list, const std::string& variable) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : list) {
    if (c == '[') ++depth;
    if (c == ']' && --depth < 0) break;
    if (c == ',' && depth == 0) {
      parts.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (depth != 0) bad_variable(variable, "unbalanced brackets", "'" + std::string(list) + "'", "a Slurm hostlist like 'gpu[01-04,07],login1'");
  parts.push_back(std::move(current));
  return parts;
}

std::string pad(long value, size_t width) {
  std::string digits = std::to_string(value);
  return digits.size() < width ? std::string(width - digits.size(), '0') + digits : digits;
}

/// "01-04,07" -> 01 02 03 04 07.
std::vector<std::string> expand_ranges(const std::string& body, std::string_view list, const std::string& variable) {
  std::vector<std::string> out;
  const std::string expected = "ranges like [01-04,07] inside brackets";
  for (const std::string& item : split_top_level(body, variable)) {
    size_t dash = item.find('-');
    std::string lo_text = item.substr(0, dash);
    std::string hi_text = dash == std::string::npos ? lo_text : item.substr(dash + 1);
    auto lo = parse_whole(lo_text);
    auto hi = parse_whole(hi_text);
    if (!lo || !hi || *hi < *lo || *hi - *lo > 100000) {
      bad_variable(variable, "bad range '" + item + "'", "'" + std::string(list) + "'", expected);
    }
    for (long i = *lo; i <= *hi; ++i) out.push_back(pad(i, lo_text.size()));
  }
  return out;
}

/// One comma-free host pattern, possibly with several bracket groups: cartesian product.
std::vector<std::string> expand_host(const std::string& pattern, std::string_view list, const std::string& variable) {
  std::vector<std::string> names{""};
  size_t pos = 0;
  while (pos < pattern.size()) {
    size_t open = pattern.find('[', pos);
    std::string literal = pattern.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    for (std::string& n : names) n += literal;
    if (open == std::string::npos) break;
    size_t close = pattern.find(']', open);
    std::vector<std::string> suffixes = expand_ranges(pattern.substr(open + 1, close - open - 1), list, variable);
    std::vector<std::string> next;
    for (const std::string& n : names) {
      for (const std::string& s : suffixes) next.push_back(n + s);
    }
    names = std::move(next);
    pos = close + 1;
  }
  return names;
}

}  // namespace

std::string to_string(LaunchSource source) {
  switch (source) {
    case LaunchSource::kSingle: return "single";
    case LaunchSource::kTorchrun: return "torchrun";
    case LaunchSource::kSlurm: return "slurm";
    case LaunchSource::kOpenMpi: return "openmpi";
  }
  return "unknown";
}

EnvMap current_environment() {
  EnvMap env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq != std::string_view::npos) env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

DistEnv detect_dist_env(const EnvMap& env) {
  if (find(env, "RANK") || find(env, "WORLD_SIZE")) return torchrun_env(env);
  if (find(env, "OMPI_COMM_WORLD_RANK")) return openmpi_env(env);
  if (find(env, "SLURM_PROCID")) return slurm_env(env);
  return DistEnv{};
}

DistEnv detect_dist_env() { return detect_dist_env(current_environment()); }

std::vector<std::string> expand_hostlist(std::string_view list, const std::string& variable) {
  std::vector<std::string> hosts;
  for (const std::string& part : split_top_level(list, variable)) {
    if (part.empty()) bad_variable(variable, "empty host name", "'" + std::string(list) + "'", "a Slurm hostlist like 'gpu[01-04,07],login1'");
    for (std::string& host : expand_host(part, list, variable)) hosts.push_back(std::move(host));
  }
  return hosts;
}

std::vector<int> expand_tasks_per_node(std::string_view list, const std::string& variable) {
  std::vector<int> counts;
  const std::string expected = "counts like '2(x3),1'";
  for (const std::string& item : split_top_level(list, variable)) {
    size_t paren = item.find("(x");
    auto count = parse_whole(item.substr(0, paren));
    std::optional<long> repeat = 1;
    if (paren != std::string::npos) {
      if (item.back() != ')') bad_variable(variable, "bad item '" + item + "'", "'" + std::string(list) + "'", expected);
      repeat = parse_whole(item.substr(paren + 2, item.size() - paren - 3));
    }
    if (!count || !repeat || *count < 1 || *repeat < 1 || *repeat > 100000) {
      bad_variable(variable, "bad item '" + item + "'", "'" + std::string(list) + "'", expected);
    }
    counts.insert(counts.end(), static_cast<size_t>(*repeat), static_cast<int>(*count));
  }
  return counts;
}

int slurm_default_port(std::string_view job_id) {
  auto id = parse_whole(job_id);
  if (!id) bad_variable("SLURM_JOB_ID", "not a whole number", "'" + std::string(job_id) + "'", "Slurm's numeric job id", "or export MASTER_PORT");
  return 10000 + static_cast<int>(*id % 10000);
}

std::chrono::seconds comm_timeout(const EnvMap& env, std::optional<std::chrono::seconds> configured) {
  if (const std::string* text = find(env, "DS_TIMEOUT")) {
    auto value = parse_whole(*text);
    if (!value || *value < 1) bad_variable("DS_TIMEOUT", "not a positive whole number of seconds", "'" + *text + "'", "e.g. DS_TIMEOUT=600");
    return std::chrono::seconds(*value);
  }
  return configured.value_or(kDefaultCommTimeout);
}

}  // namespace ds::comm
