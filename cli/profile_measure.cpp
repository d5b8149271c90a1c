// ds-engine's side of `ds profile`: the probes and the collective rank worker (LibTorch).
#include <filesystem>

#include "cli/cli_context.hpp"
#include "profiles/probes/collective_probe.hpp"
#include "profiles/probes/measure.hpp"

namespace ds::cli {

profiles::Profile measure_this_machine(const profiles::ProbeOptions& options, const GlobalOptions&) {
  profiles::ProbeOptions probe = options;
  // The collective ranks run this very executable, which knows `profile collectives-worker`.
  probe.self_binary = std::filesystem::read_symlink("/proc/self/exe").string();
  return profiles::measure_machine(probe);
}

void run_collectives_worker(const profiles::CollectiveBenchOptions& options, const GlobalOptions&) {
  profiles::run_collective_bench_rank(options);
}

}  // namespace ds::cli
