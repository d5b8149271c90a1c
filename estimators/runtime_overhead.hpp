#pragma once
// Memory the runtime takes besides tensors: the CUDA context (or, on a CPU run, the process with
// LibTorch loaded), the collective library's buffers, and allocator fragmentation. A stored
// profile measures these (ClusterSpec's optional fields); otherwise the documented defaults below
// apply. They are the first numbers to calibrate against the engine's measured peaks.
#include <vector>

#include "estimators/memory_estimate.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::estimators {

/// CUDA context, kernel images and cuBLAS workspace of a LibTorch process: the first CUDA call
/// takes ~723 MiB on a recent GPU (discuss.pytorch.org/t/73021); sizes vary with GPU, driver
/// and CUDA's lazy module loading.
inline constexpr double kDefaultCudaContextBytes = 768.0 * 1024 * 1024;
/// NCCL channel buffers: NCCL_BUFFSIZE defaults to 4 MiB per channel and peer
/// (docs.nvidia.com/deeplearning/nccl, "Environment Variables"); with up to 32 channels, send and
/// receive, ring and tree: 4 MiB x 32 x 2 x 2 = 512 MiB.
inline constexpr double kDefaultNcclBytes = 512.0 * 1024 * 1024;
/// A CPU rank's resident baseline with LibTorch loaded: importing torch 1.13 grows a Python
/// process by ~219 MiB (measured on the build machine); 256 MiB with headroom.
inline constexpr double kDefaultCpuProcessBytes = 256.0 * 1024 * 1024;
/// Gloo keeps no fixed pool; its per-call buffers are the comm buckets.
inline constexpr double kDefaultGlooBytes = 0.0;
/// Fraction of tensor bytes lost to caching-allocator rounding and fragmentation (PyTorch rounds
/// to 512-byte blocks within 2 MiB / 20 MiB segments). A starting point for calibration.
inline constexpr double kDefaultFragmentation = 0.05;

/// The runtime figures that apply to one device of `cluster`.
struct RuntimeOverhead {
  double runtime_bytes = 0;     ///< context or process baseline, per device
  double collective_bytes = 0;  ///< collective library, per device, 0 with a single rank
  double fragmentation = 0;     ///< fraction of tensor bytes
};

/// Measured values from the cluster when present, the defaults above otherwise.
RuntimeOverhead runtime_overhead(const profiles::ClusterSpec& cluster);

/// The runtime items of one device: context/process and collective buffers (phase always), and
/// fragmentation as a fraction of `tensor_peak_bytes`, the device peak of all other items.
std::vector<MemoryItem> runtime_overhead_memory(const profiles::ClusterSpec& cluster, double tensor_peak_bytes);

}  // namespace ds::estimators
