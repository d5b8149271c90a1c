// Rendezvous through c10d::TCPStore (rank 0 hosts it) and the per-rank heartbeat.
#include <algorithm>

#include "common/error.hpp"
#include "engine/comm/detail/c10d.hpp"

namespace ds::comm::detail {
namespace {

std::string store_address(const DistEnv& env) { return env.master_addr + ":" + std::to_string(env.master_port); }

c10::intrusive_ptr<c10d::TCPStore> open_tcp_store(const CommOptions& options, bool server) {
  const DistEnv& env = options.env;
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(env.master_port);
  store_options.isServer = server;
  store_options.waitWorkers = false;  // joining is counted below, to name the missing ranks
  store_options.timeout = options.timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
  } catch (const std::exception& e) {
    const std::string where = "rendezvous at " + store_address(env);
    if (server) {
      throw RuntimeError(format_error(where, "rank 0 could not host the store [" + backend_message(e) + "]", {}, {},
                                      "the port may be taken: choose another MASTER_PORT"));
    }
    throw RuntimeError(format_error(where, "rank " + std::to_string(env.rank) + " could not reach rank 0's store within " +
                                               std::to_string(options.timeout.count()) + " s [" + backend_message(e) + "]",
                                    {}, {}, "is rank 0 running, and is MASTER_ADDR:MASTER_PORT reachable from this node?"));
  }
}

std::string joined_key(int rank) { return "joined/" + std::to_string(rank); }

}  // namespace

std::string list_ranks(const std::vector<int>& ranks) {
  std::string out = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) out += (i ? ", " : "") + std::to_string(ranks[i]);
  return out;
}

c10::intrusive_ptr<c10d::Store> rendezvous(const CommOptions& options) {
  const DistEnv& env = options.env;
  auto tcp = open_tcp_store(options, env.rank == 0);
  auto store = c10::make_intrusive<c10d::PrefixStore>(options.store_prefix, tcp);
  std::vector<std::string> keys;
  for (int r = 0; r < env.world_size; ++r) keys.push_back(joined_key(r));
  try {
    store->set(joined_key(env.rank), std::vector<uint8_t>{1});
    store->wait(keys, options.timeout);
    return store;
  } catch (const std::exception& e) {
    std::vector<int> missing;
    try {
      for (int r = 0; r < env.world_size; ++r) {
        if (!store->check({joined_key(r)})) missing.push_back(r);
      }
    } catch (const std::exception&) {
      throw RuntimeError(format_error("rendezvous at " + store_address(env),
                                      "lost rank 0's store while waiting for the other ranks [" + backend_message(e) + "]",
                                      {}, {}, "rank 0 died during start-up; check its log"));
    }
    if (missing.empty()) throw RuntimeError(format_error("rendezvous at " + store_address(env), backend_message(e)));
    throw RuntimeError(format_error(
        "rendezvous at " + store_address(env),
        list_ranks(missing) + " of " + std::to_string(env.world_size) + " did not join within " +
            std::to_string(options.timeout.count()) + " s",
        {}, {},
        "start every rank with the same MASTER_ADDR/MASTER_PORT and WORLD_SIZE; in a Slurm batch script start them "
        "with srun"));
  }
}

c10::intrusive_ptr<c10d::Store> connect_store(const CommOptions& options) {
  return c10::make_intrusive<c10d::PrefixStore>(options.store_prefix, open_tcp_store(options, false));
}

Heartbeat::Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size, std::chrono::milliseconds interval)
    : store_(std::move(store)), rank_(rank), world_size_(world_size), interval_(interval) {
  thread_ = std::thread([this] { run(); });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void Heartbeat::run() {
  const std::string key = "hb/" + std::to_string(rank_);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    try {
      store_->add(key, 1);
    } catch (const std::exception&) {
      return;  // rank 0's store is gone; silent_ranks() reports that when asked
    }
    stop_cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

std::vector<int64_t> Heartbeat::counters() {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> values;
  for (int r = 0; r < world_size_; ++r) values.push_back(store_->add("hb/" + std::to_string(r), 0));
  return values;
}

std::vector<int> Heartbeat::silent_ranks() {
  std::vector<int64_t> before = counters();
  // Two full intervals and a half: a live rank bumps its counter at least twice meanwhile.
  std::this_thread::sleep_for(interval_ * 5 / 2);
  std::vector<int64_t> after = counters();
  std::vector<int> silent;
  for (int r = 0; r < world_size_; ++r) {
    if (r != rank_ && after[r] == before[r]) silent.push_back(r);
  }
  return silent;
}

}  // namespace ds::comm::detail
