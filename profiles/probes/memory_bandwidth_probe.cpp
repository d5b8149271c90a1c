// STREAM-style memory bandwidth (McCalpin): copy c = a and triad a = b + s*c over arrays far
// larger than the last-level cache, all threads. Bytes counted as STREAM does: copy moves 16 B
// per element (one read, one write), triad 24 B (two reads, one write).
#include <omp.h>

#include <memory>
#include <vector>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {
namespace {

struct AlignedArray {
  explicit AlignedArray(std::size_t n)
      : data(static_cast<double*>(::operator new[](n * sizeof(double), std::align_val_t{64}))) {}
  ~AlignedArray() { ::operator delete[](data, std::align_val_t{64}); }
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;
  double* data;
};

}  // namespace

void probe_memory_bandwidth(const ProbeOptions& options, ProbeReport& report) {
  // 3 arrays of 64 MiB (quick) / 256 MiB: well past any LLC, so we measure DRAM, not cache.
  const std::size_t n = options.quick ? (8u << 20) : (32u << 20);
  const int repeats = options.quick ? 8 : 20;
  AlignedArray a(n), b(n), c(n);
  // First touch in parallel so pages land near the threads that use them (NUMA).
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < n; ++i) {
    a.data[i] = 1.0 + static_cast<double>(i % 97);
    b.data[i] = 2.0;
    c.data[i] = 0.5;
  }
  const double scalar = 3.0;
  auto copy = time_repeated(2, repeats, [&] {
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < n; ++i) c.data[i] = a.data[i];
  });
  auto triad = time_repeated(2, repeats, [&] {
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < n; ++i) a.data[i] = b.data[i] + scalar * c.data[i];
  });
  const int threads = omp_get_max_threads();
  auto add = [&](const char* kind, std::vector<double> seconds, double bytes_per_element) {
    std::vector<double> gbps;
    for (double s : seconds) gbps.push_back(bytes_per_element * static_cast<double>(n) / s / 1e9);
    Summary sum = summarize(gbps);
    report.add({std::string("cpu.stream_") + kind,
                {{"array_bytes", n * sizeof(double)}, {"threads", threads}},
                sum.median, "GB/s", sum.spread, sum.runs});
  };
  add("copy", copy, 16);
  add("triad", triad, 24);
  // Keep the compiler from treating the arrays as dead.
  volatile double sink = a.data[n / 2] + c.data[n / 3];
  (void)sink;
}

}  // namespace ds::profiles
