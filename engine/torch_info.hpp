#pragma once
#include <string>

namespace ds::engine {

/// What LibTorch this binary runs with; for `ds env` and run reports.
struct TorchInfo {
  std::string version;        ///< e.g. "1.13.1"
  bool cuda_available = false;
  int cuda_device_count = 0;
  std::string cuda_version;   ///< compiled CUDA version, empty without CUDA
  bool nccl_available = false;
  bool gloo_available = false;
  int intraop_threads = 0;
  std::string parallel_info;  ///< at::get_parallel_info(): OpenMP/MKL threads
  std::string build_config;   ///< at::show_config(): compiler, BLAS, flags
};

TorchInfo torch_info();

}  // namespace ds::engine
