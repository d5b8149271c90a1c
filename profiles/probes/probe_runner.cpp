#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/progress.hpp"
#include "profiles/probes/probes.hpp"

namespace ds::profiles {

std::vector<double> time_repeated(int warmup, int repeats, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> seconds;
  seconds.reserve(static_cast<std::size_t>(repeats));
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return seconds;
}

void use_all_cores() {
  // LibTorch may start with one intra-op thread (seen with Debian's build); a profile must show
  // what the whole machine does, unless the user pinned OMP_NUM_THREADS.
  if (std::getenv("OMP_NUM_THREADS") == nullptr) torch::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
}

ProbeReport run_probes(const ProbeOptions& options) {
  use_all_cores();
  struct Step {
    const char* what;
    int weight;  // rough share of the total time, for the ETA
    void (*run)(const ProbeOptions&, ProbeReport&);
  };
  const Step steps[] = {{"memory bandwidth", 2, probe_memory_bandwidth},
                        {"CPU GEMM", 4, probe_cpu_gemm},
                        {"CPU Adam", 2, probe_cpu_adam},
                        {"storage", 3, probe_storage},
                        {"GPU", 3, probe_gpu},
                        {"collectives", 4, probe_collectives}};
  int total = 0;
  for (const auto& s : steps) total += s.weight;
  ProbeReport report;
  Progress progress("profile", static_cast<std::size_t>(total), {.enabled = options.progress});
  int done = 0;
  for (const auto& s : steps) {
    progress.update(static_cast<std::size_t>(done), s.what);
    s.run(options, report);
    done += s.weight;
  }
  progress.finish();
  return report;
}

}  // namespace ds::profiles
