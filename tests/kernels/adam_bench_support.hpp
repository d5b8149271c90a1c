// What the Adam benchmarks share (tests/kernels/adam_bench.cpp, torch-free, and tests/engine/
// adam_vs_torch_bench.cpp, beside torch::optim::AdamW): page-aligned arrays touched first by the
// threads that use them, ds's step as a benchmark, and the STREAM triad every row is judged by.
//
// Byte conventions (STREAM's: only the bytes the loop names, no write-allocate reads):
//   triad a[i] = b[i] + s*c[i] on doubles: 24 B/element (two reads, one write);
//   Adam: 28 B/param (reads param, grad, exp_avg, exp_avg_sq; writes param, exp_avg, exp_avg_sq),
//   30 B/param with the fused bf16 copy. Adam's writes go to lines it has just read, so it pays
//   no write-allocate; the triad's store to `a` does (32 B really move), which flatters Adam's
//   fraction of "triad bandwidth" by up to 32/24 against a triad with non-temporal stores.
#pragma once
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "kernels/cpu/adam.hpp"

namespace ds::test {

inline constexpr double kAdamBytesPerParam = 28;
inline constexpr double kAdamBf16BytesPerParam = 30;
inline constexpr double kTriadBytesPerElement = 24;

/// n values of T on 2 MiB boundaries, first written in parallel with a static schedule (the one
/// the kernels use), so each thread's pages sit on its own NUMA node.
template <class T>
class BenchArray {
 public:
  BenchArray(std::int64_t n, T value) : n_(n), data_(static_cast<T*>(::operator new[](bytes(), kAlign))) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) data_[i] = value;
  }
  ~BenchArray() { ::operator delete[](data_, kAlign); }
  BenchArray(const BenchArray&) = delete;
  BenchArray& operator=(const BenchArray&) = delete;
  T* data() { return data_; }

 private:
  static constexpr std::align_val_t kAlign{2u << 20};
  std::size_t bytes() const { return std::max<std::size_t>(1, static_cast<std::size_t>(n_) * sizeof(T)); }
  std::int64_t n_;
  T* data_;
};

/// Runs `step` once per benchmark iteration.
template <class Step>
void run_steps(benchmark::State& state, Step&& step) {
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
}

/// Counters every row carries: items/s (params or elements), bytes/s by the conventions above,
/// and the thread count. The fraction of the triad's bandwidth is computed from the StreamTriad
/// row of the same run (tests/kernels/adam_bench_table.py).
inline void set_bandwidth_counters(benchmark::State& state, std::int64_t n, double bytes_per_item) {
  const double items = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.SetItemsProcessed(static_cast<std::int64_t>(items));
  state.SetBytesProcessed(static_cast<std::int64_t>(items * bytes_per_item));
  state.counters["threads"] = omp_get_max_threads();
}

/// The triad over three 256 MiB arrays (past this machine's 508 MiB L3 together), beside the Adam rows.
inline void BM_StreamTriad(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  BenchArray<double> a(n, 1.0), b(n, 2.0), c(n, 0.5);
  run_steps(state, [&] {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) a.data()[i] = b.data()[i] + 3.0 * c.data()[i];
  });
  set_bandwidth_counters(state, n, kTriadBytesPerElement);
}

/// ds's step: args {isa, n, bf16 copy 0|1}. The step count advances as in training.
inline void BM_DsAdam(benchmark::State& state) {
  const auto isa = static_cast<kernels::CpuIsa>(state.range(0));
  const std::int64_t n = state.range(1);
  const bool bf16 = state.range(2) != 0;
  if (static_cast<int>(isa) > static_cast<int>(kernels::choose_cpu_isa(kernels::detect_cpu_features(), ""))) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  BenchArray<float> params(n, 0.5f), grads(n, 1e-3f), exp_avg(n, 0.0f), exp_avg_sq(n, 0.0f);
  BenchArray<std::uint16_t> half(bf16 ? n : 0, 0);
  kernels::AdamArrays arrays{.params = params.data(), .grads = grads.data(), .exp_avg = exp_avg.data(),
                             .exp_avg_sq = exp_avg_sq.data(), .n = n};
  if (bf16) {
    arrays.params_half = half.data();
    arrays.half_type = kernels::HalfType::kBf16;
  }
  kernels::AdamOptions options;
  options.weight_decay = 0.01;
  run_steps(state, [&] {
    kernels::adam_step(options, arrays, isa);
    ++options.step;
  });
  state.SetLabel(std::string("ds.cpu_adam/") + kernels::to_string(isa) + (bf16 ? "+bf16" : ""));
  set_bandwidth_counters(state, n, bf16 ? kAdamBf16BytesPerParam : kAdamBytesPerParam);
}

/// Sizes of the published table: 1M, 10M, 100M params.
// The ctest smoke run (DS_BENCH_SMOKE, tests/CMakeLists.txt) only checks that every row runs:
// one small size, not 1.6 GB of optimizer state per row.
inline const std::vector<std::int64_t> kAdamSizes =
    std::getenv("DS_BENCH_SMOKE") != nullptr ? std::vector<std::int64_t>{1 << 16}
                                             : std::vector<std::int64_t>{1 << 20, 10 << 20, 100 << 20};

/// Registers the triad and ds's rows (every ISA, and the bf16 copy with the best one).
inline void register_ds_adam_benchmarks() {
  auto* triad = benchmark::RegisterBenchmark("StreamTriad", BM_StreamTriad)->UseRealTime()->Unit(benchmark::kMillisecond);
  triad->Arg(32 << 20);
  const auto best = kernels::choose_cpu_isa(kernels::detect_cpu_features(), "");
  auto* adam = benchmark::RegisterBenchmark("DsAdam", BM_DsAdam)->UseRealTime()->Unit(benchmark::kMillisecond);
  adam->ArgNames({"isa", "n", "bf16"});
  for (std::int64_t n : kAdamSizes) {
    for (int isa = 0; isa <= static_cast<int>(best); ++isa) adam->Args({isa, n, 0});
    adam->Args({static_cast<int>(best), n, 1});
  }
}

}  // namespace ds::test
