#pragma once
#include <string>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {

/// What one rank of the collective benchmark runs (`ds profile collectives-worker`).
struct CollectiveBenchOptions {
  bool quick = false;        ///< sizes 4 KiB..4 MiB instead of 4 KiB..256 MiB
  std::string out_file;      ///< rank 0 writes the results here as JSON (a list of measurements)
};

/// Runs all-reduce, all-gather, reduce-scatter, all-to-all and broadcast over message sizes
/// from 4 KiB up, in a job joined from the launch environment (torchrun variables). Each size is
/// warmed up, repeated, and timed between barriers; rank 0 writes algorithm and bus bandwidth
/// with nccl-tests' conventions (see docs/profile.md).
void run_collective_bench_rank(const CollectiveBenchOptions& options);

/// nccl-tests' bus-bandwidth factor for `collective` over `ranks` ranks: all_reduce 2(n-1)/n,
/// all_gather / reduce_scatter / all_to_all (n-1)/n, broadcast 1.
double bus_bandwidth_factor(const std::string& collective, int ranks);

}  // namespace ds::profiles
