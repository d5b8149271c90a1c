// Collective bandwidth over real local ranks with the real backend (Gloo on CPU, NCCL on GPU),
// reported like nccl-tests: algbw = bytes / time, busbw = algbw x a per-collective factor that
// makes the number comparable to the link bandwidth
// (https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md).
#include "profiles/probes/collective_probe.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/launch/launcher.hpp"

namespace ds::profiles {
namespace {

using nlohmann::json;

// Median seconds of `fn` over repeats (and their spread), each between barriers so every rank
// starts together.
Summary time_collective(comm::Communicator& c, int repeats, const std::function<void()>& fn) {
  fn();  // warm-up: connections and buffers
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    c.barrier();
    auto start = std::chrono::steady_clock::now();
    fn();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Every rank must agree on the time: the slowest rank's median is the collective's time.
  Summary s = summarize(seconds);
  auto t = torch::tensor({s.median, s.spread}, torch::kFloat64);
  c.all_reduce(t, comm::ReduceOp::kMax);
  return {t[0].item<double>(), t[1].item<double>(), s.runs};
}

}  // namespace

double bus_bandwidth_factor(const std::string& collective, int n) {
  if (n <= 1) return 1.0;
  if (collective == "all_reduce") return 2.0 * (n - 1) / n;
  if (collective == "broadcast") return 1.0;
  return static_cast<double>(n - 1) / n;  // all_gather, reduce_scatter, all_to_all
}

void run_collective_bench_rank(const CollectiveBenchOptions& options) {
  comm::CommOptions co;
  co.env = comm::detect_dist_env();
  co.timeout = comm::comm_timeout(comm::current_environment());
  comm::Communicator c(co);
  const int n = c.world_size();
  const std::int64_t max_bytes = options.quick ? (4 << 20) : (256 << 20);
  const int repeats = options.quick ? 5 : 10;
  json rows = json::array();
  for (std::int64_t bytes = 4096; bytes <= max_bytes; bytes *= options.quick ? 8 : 4) {
    // Message size is the per-rank buffer, as in nccl-tests; elements divisible by n for the
    // scatter-type collectives.
    std::int64_t elems = bytes / 4 / n * n;
    auto data = torch::randn({elems});
    auto out = torch::empty({elems});
    auto chunk = torch::randn({elems / n});
    auto gathered = torch::empty({elems / n * n});
    const double sz = static_cast<double>(elems) * 4;
    struct Case { const char* name; std::function<void()> run; };
    std::vector<Case> cases = {
        {"all_reduce", [&] { c.all_reduce(data); }},
        {"all_gather", [&] { c.all_gather_into(gathered, chunk); }},
        {"reduce_scatter", [&] { c.reduce_scatter(chunk, data); }},
        {"all_to_all", [&] { c.all_to_all_single(out, data); }},
        {"broadcast", [&] { c.broadcast(data, 0); }}};
    for (auto& k : cases) {
      Summary timing = time_collective(c, repeats, k.run);
      double t = timing.median;
      double algbw = sz / t / 1e9;
      rows.push_back(to_json(Measurement{std::string("coll.") + k.name,
                                         {{"bytes", static_cast<std::int64_t>(sz)}, {"ranks", n}, {"backend", c.backend_name()},
                                          {"algbw_GBps", std::round(algbw * 1e4) / 1e4}, {"time_us", std::round(t * 1e7) / 10}},
                                         algbw * bus_bandwidth_factor(k.name, n), "GB/s", timing.spread, repeats}));
    }
  }
  if (c.rank() == 0) write_file_atomic(options.out_file, rows.dump());
  c.barrier();
}

void probe_collectives(const ProbeOptions& options, ProbeReport& report) {
  if (options.collective_ranks < 2) {
    report.skip("collectives", "fewer than 2 ranks asked for (--ranks)");
    return;
  }
  if (options.self_binary.empty()) {
    report.skip("collectives", "the ds binary to start ranks with is unknown");
    return;
  }
  auto out = std::filesystem::temp_directory_path() / ("ds-coll-" + std::to_string(::getpid()) + ".json");
  launch::LaunchOptions lo;
  lo.command = {options.self_binary, "-q", "profile", "collectives-worker", "--out", out.string()};
  if (options.quick) lo.command.push_back("--quick");
  lo.nproc = options.collective_ranks;
  lo.on_line = [](std::size_t, launch::Stream, const std::string&) {};  // ranks are quiet unless they fail
  try {
    launch::launch_local(lo);
  } catch (const Error& e) {
    report.skip("collectives", std::string("the ranks failed: ") + e.what());
    return;
  }
  json rows = json::parse(read_file(out));
  std::filesystem::remove(out);
  for (const auto& r : rows) report.add(measurement_from_json(r));
}

}  // namespace ds::profiles
