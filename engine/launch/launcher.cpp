// Local rank spawning (`ds train --nproc N`) and the rank layout of multi-node jobs.
#include "engine/launch/launcher.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/error.hpp"

namespace ds::launch {
namespace {

void check_options(const LaunchOptions& o) {
  if (o.command.empty()) throw UsageError(format_error("launch", "no command to run for the ranks"));
  if (o.nproc < 1) throw UsageError(format_error("--nproc", "must be at least 1", std::to_string(o.nproc)));
  const int world = o.world_size == 0 ? o.nproc : o.world_size;
  if (o.rank_offset < 0 || o.rank_offset + o.nproc > world) {
    throw UsageError(format_error("launch", "ranks " + std::to_string(o.rank_offset) + ".." +
                                                std::to_string(o.rank_offset + o.nproc - 1) + " do not fit the world size",
                                  std::to_string(world)));
  }
  if (o.master_port < 0 || o.master_port > 65535) {
    throw UsageError(format_error("--master-port", "not a TCP port", std::to_string(o.master_port), "1..65535"));
  }
  if (o.master_port == 0 && world > o.nproc) {
    throw UsageError(format_error("--master-port", "must be given when ranks run on several nodes"));
  }
}

std::vector<int> parse_layout(const std::string& layout) {
  std::vector<int> counts;
  size_t start = 0;
  while (start <= layout.size()) {
    size_t comma = layout.find(',', start);
    std::string item = layout.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || value < 1) {
      throw UsageError(format_error("--world-layout", "bad rank count '" + item + "'", "'" + layout + "'",
                                    "positive ranks per node, e.g. 4,4,2"));
    }
    counts.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return counts;
}

}  // namespace

int free_tcp_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw RuntimeError("launch: socket failed: " + std::string(std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string reason = std::strerror(errno);
    close(fd);
    throw RuntimeError("launch: cannot find a free TCP port: " + reason);
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::vector<ProcessSpec> local_rank_processes(const LaunchOptions& options) {
  check_options(options);
  const int world = options.world_size == 0 ? options.nproc : options.world_size;
  const int port = options.master_port == 0 ? free_tcp_port() : options.master_port;
  const bool set_threads = options.nproc > 1 && std::getenv("OMP_NUM_THREADS") == nullptr;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<ProcessSpec> specs;
  for (int local = 0; local < options.nproc; ++local) {
    const int rank = options.rank_offset + local;
    ProcessSpec spec;
    spec.label = "rank " + std::to_string(rank);
    spec.argv = options.command;
    spec.env = {{"MASTER_ADDR", options.master_addr},
                {"MASTER_PORT", std::to_string(port)},
                {"RANK", std::to_string(rank)},
                {"WORLD_SIZE", std::to_string(world)},
                {"LOCAL_RANK", std::to_string(local)},
                {"LOCAL_WORLD_SIZE", std::to_string(options.nproc)},
                {"GROUP_RANK", std::to_string(options.node_rank)},
                // The launcher prefixes every line with the rank; ranks need not tag their own.
                {std::string(kLauncherEnv), "1"}};
    if (set_threads) spec.env.emplace_back("OMP_NUM_THREADS", std::to_string(std::max(1u, cores / options.nproc)));
    spec.env.insert(spec.env.end(), options.env.begin(), options.env.end());
    specs.push_back(std::move(spec));
  }
  return specs;
}

void launch_local(const LaunchOptions& options, const ProcessRunner& runner) {
  SuperviseOptions supervise_options;
  supervise_options.grace_period = options.grace_period;
  supervise_options.tail_lines = options.tail_lines;
  supervise_options.on_line = options.on_line;
  runner(local_rank_processes(options), supervise_options);
}

ClusterPlan plan_cluster(const std::vector<NodeSlots>& nodes, int master_port, const std::string& master_addr) {
  if (nodes.empty()) throw UsageError(format_error("launch", "no node to run on"));
  ClusterPlan plan;
  plan.master_port = master_port;
  plan.master_addr = master_addr.empty() ? nodes.front().host : master_addr;
  for (const NodeSlots& node : nodes) {
    NodePlan entry;
    entry.node_rank = static_cast<int>(plan.nodes.size());
    entry.host = node.host;
    entry.slots = node.slots;
    entry.rank_offset = plan.world_size;
    plan.world_size += static_cast<int>(node.slots.size());
    plan.nodes.push_back(std::move(entry));
  }
  return plan;
}

LaunchOptions node_launch_options(const ClusterPlan& plan, int node_rank, const std::vector<std::string>& command) {
  if (node_rank < 0 || node_rank >= static_cast<int>(plan.nodes.size())) {
    throw UsageError(format_error("--node-rank", "out of range", std::to_string(node_rank),
                                  "0 <= node rank < " + std::to_string(plan.nodes.size()) + " nodes"));
  }
  const NodePlan& node = plan.nodes[static_cast<size_t>(node_rank)];
  LaunchOptions options;
  options.command = command;
  options.nproc = static_cast<int>(node.slots.size());
  options.node_rank = node_rank;
  options.rank_offset = node.rank_offset;
  options.world_size = plan.world_size;
  options.master_addr = plan.master_addr;
  options.master_port = plan.master_port;
  bool identity = true;
  for (size_t i = 0; i < node.slots.size(); ++i) identity = identity && node.slots[i] == static_cast<int>(i);
  if (!identity) {
    std::string devices;
    for (int slot : node.slots) devices += (devices.empty() ? "" : ",") + std::to_string(slot);
    options.env.emplace_back("CUDA_VISIBLE_DEVICES", devices);
  }
  return options;
}

std::string world_layout(const ClusterPlan& plan) {
  std::string out;
  for (const NodePlan& node : plan.nodes) out += (out.empty() ? "" : ",") + std::to_string(node.slots.size());
  return out;
}

ClusterPlan plan_from_layout(const std::string& layout, const std::string& master_addr, int master_port) {
  if (master_addr.empty()) throw UsageError(format_error("--world-layout", "needs --master-addr"));
  std::vector<NodeSlots> nodes;
  for (int count : parse_layout(layout)) {
    NodeSlots node;
    node.host = nodes.empty() ? master_addr : "node" + std::to_string(nodes.size());
    for (int i = 0; i < count; ++i) node.slots.push_back(i);
    nodes.push_back(std::move(node));
  }
  return plan_cluster(nodes, master_port, master_addr);
}

}  // namespace ds::launch
