// Multi-node launch over ssh and the dispatch of `ds train`'s launcher flags.
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "engine/comm/dist_env.hpp"
#include "engine/launch/launcher.hpp"

namespace ds::launch {
namespace {

bool forwarded(const std::string& name, const SshOptions& options) {
  for (const std::string& wanted : options.forward_env) {
    if (name == wanted) return true;
  }
  for (const std::string& prefix : kForwardedEnvPrefixes) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

bool is_local_host(const std::string& host) {
  if (host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1") return true;
  char name[256] = {};
  return gethostname(name, sizeof name - 1) == 0 && host == name;
}

void check_flags(const LauncherFlags& f) {
  if (f.no_ssh && f.node_rank < 0) {
    throw UsageError(format_error("--no-ssh", "needs --node-rank K (this node's index in the hostfile)"));
  }
  if (f.node_rank >= 0 && !f.no_ssh) {
    throw UsageError(format_error("--node-rank", "only applies with --no-ssh", {}, {},
                                  "run the same command with --no-ssh --node-rank K on every node"));
  }
  if ((!f.include.empty() || !f.exclude.empty()) && f.hostfile.empty()) {
    throw UsageError(format_error(f.include.empty() ? "--exclude" : "--include", "needs --hostfile"));
  }
  if (f.nproc != 0 && (!f.hostfile.empty() || !f.world_layout.empty())) {
    throw UsageError(format_error("--nproc", "cannot be combined with --hostfile or --world-layout", {}, {},
                                  "the hostfile's slots=N say how many ranks each node runs"));
  }
  if (!f.world_layout.empty() && (!f.no_ssh || !f.hostfile.empty())) {
    throw UsageError(format_error("--world-layout", "only applies with --no-ssh and without --hostfile"));
  }
  if (f.nproc < 0) throw UsageError(format_error("--nproc", "must be at least 1", std::to_string(f.nproc)));
}

ClusterPlan hostfile_plan(const LauncherFlags& f) {
  const int port = f.master_port == 0 ? 29500 : f.master_port;
  return plan_cluster(select_slots(read_hostfile(f.hostfile), f.include, f.exclude), port, f.master_addr);
}

}  // namespace

std::string shell_quote(const std::string& word) {
  const bool safe = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                            "_-+=./:,@%") == std::string::npos;
  if (safe) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<ProcessSpec> ssh_processes(const ClusterPlan& plan, const SshOptions& options,
                                       const std::map<std::string, std::string>& env) {
  if (options.command.empty()) throw UsageError(format_error("launch", "no command to run on the nodes"));
  const std::string workdir = options.workdir.empty() ? std::filesystem::current_path().string() : options.workdir;
  std::string exports;
  for (const auto& [name, value] : env) {
    if (forwarded(name, options)) exports += " " + shell_quote(name + "=" + value);
  }
  std::vector<ProcessSpec> specs;
  for (const NodePlan& node : plan.nodes) {
    std::string remote = "cd " + shell_quote(workdir) + " && env" + exports;
    for (const auto& [name, value] : node_launch_options(plan, node.node_rank, options.command).env) {
      remote += " " + shell_quote(name + "=" + value);  // CUDA_VISIBLE_DEVICES for a slot subset
    }
    for (const std::string& word : options.command) remote += " " + shell_quote(word);
    remote += " --no-ssh --node-rank " + std::to_string(node.node_rank) + " --world-layout " + world_layout(plan) +
              " --master-addr " + shell_quote(plan.master_addr) + " --master-port " + std::to_string(plan.master_port);
    ProcessSpec spec;
    spec.label = "node " + node.host;
    spec.argv = options.ssh;
    spec.argv.push_back(node.host);
    spec.argv.push_back(remote);
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::vector<std::string> without_launcher_flags(const std::vector<std::string>& args) {
  static const std::set<std::string> with_value = {"--nproc",        "--hostfile",    "--include",     "--exclude",
                                                   "--node-rank",    "--world-layout", "--master-addr", "--master-port"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--no-ssh") continue;
    std::string name = a.substr(0, a.find('='));
    if (with_value.count(name)) {
      if (name == a) ++i;  // the value is the next word
      continue;
    }
    out.push_back(a);
  }
  return out;
}

bool wants_launcher(const LauncherFlags& flags) { return flags.nproc != 0 || !flags.hostfile.empty() || flags.no_ssh; }

void run_launcher(const LauncherFlags& flags, const std::vector<std::string>& rank_command, const SshOptions& ssh,
                  const ProcessRunner& runner) {
  check_flags(flags);
  if (flags.no_ssh) {
    if (flags.hostfile.empty() && flags.world_layout.empty()) {
      throw UsageError(format_error("--no-ssh", "needs --hostfile FILE (or --world-layout with --master-addr)"));
    }
    ClusterPlan plan = flags.hostfile.empty()
                           ? plan_from_layout(flags.world_layout, flags.master_addr, flags.master_port == 0 ? 29500 : flags.master_port)
                           : hostfile_plan(flags);
    launch_local(node_launch_options(plan, flags.node_rank, rank_command), runner);
    return;
  }
  if (!flags.hostfile.empty()) {
    ClusterPlan plan = hostfile_plan(flags);
    if (plan.nodes.size() == 1 && is_local_host(plan.nodes.front().host)) {
      LaunchOptions options = node_launch_options(plan, 0, rank_command);
      options.master_addr = "127.0.0.1";
      options.master_port = flags.master_port;  // 0: a free port
      launch_local(options, runner);
      return;
    }
    SshOptions options = ssh;
    options.command = rank_command;
    runner(ssh_processes(plan, options, comm::current_environment()), SuperviseOptions{});
    return;
  }
  if (flags.nproc == 0) throw UsageError(format_error("launch", "nothing to launch", {}, "--nproc N or --hostfile FILE"));
  LaunchOptions options;
  options.command = rank_command;
  options.nproc = flags.nproc;
  options.master_addr = flags.master_addr.empty() ? "127.0.0.1" : flags.master_addr;
  options.master_port = flags.master_port;
  launch_local(options, runner);
}

}  // namespace ds::launch
