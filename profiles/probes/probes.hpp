#pragma once
#include <functional>
#include <string>
#include <vector>

#include "profiles/measurement.hpp"

namespace ds::profiles {

/// What a profile run measures and how hard it tries.
struct ProbeOptions {
  bool quick = false;            ///< small sizes and few repeats: the whole profile in < 30 s on 2 cores
  std::string storage_dir;       ///< where the storage probe writes its file; empty: skip it
  int collective_ranks = 2;      ///< local ranks for the collective probe (0 or 1: skip)
  std::string self_binary;       ///< the ds binary, to spawn collective ranks; empty: skip collectives
  bool progress = true;          ///< draw a progress bar on stderr
};

/// What the probes found: numbers, and the probes that could not run here with the reason.
struct ProbeReport {
  std::vector<Measurement> measurements;
  std::vector<SkippedProbe> skipped;
  void add(Measurement m) { measurements.push_back(std::move(m)); }
  void skip(std::string probe, std::string reason) { skipped.push_back({std::move(probe), std::move(reason)}); }
};

/// Times `fn` `warmup` times untimed, then `repeats` times; returns seconds per run.
std::vector<double> time_repeated(int warmup, int repeats, const std::function<void()>& fn);

// One function per probe family; each appends to the report (or records a skip with a reason).
void probe_memory_bandwidth(const ProbeOptions& options, ProbeReport& report);  ///< STREAM copy/triad
void probe_cpu_gemm(const ProbeOptions& options, ProbeReport& report);          ///< LibTorch fp32/bf16 GEMM
void probe_cpu_adam(const ProbeOptions& options, ProbeReport& report);          ///< optimizer params/s
void probe_storage(const ProbeOptions& options, ProbeReport& report);           ///< io_uring O_DIRECT
void probe_gpu(const ProbeOptions& options, ProbeReport& report);               ///< CUDA GEMM, bandwidths
void probe_collectives(const ProbeOptions& options, ProbeReport& report);       ///< local ranks, real backend

/// Sets LibTorch's intra-op threads to every core unless OMP_NUM_THREADS is set.
void use_all_cores();

/// Runs every probe family in order with a progress bar and an ETA.
ProbeReport run_probes(const ProbeOptions& options);

}  // namespace ds::profiles
