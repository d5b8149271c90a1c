#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ds::engine {

/// What LibTorch this binary runs with; for `ds env` and run reports. Everything is read at run
/// time from the loaded library (not from compile-time macros), so it describes the LibTorch the
/// process actually got.
struct TorchInfo {
  std::string version;         ///< e.g. "1.13.0"
  bool cuda_compiled = false;  ///< LibTorch was built with CUDA (USE_CUDA=ON)
  bool cuda_available = false; ///< ... and a CUDA device is usable now
  int cuda_device_count = 0;
  std::string cuda_version;    ///< CUDA runtime version, e.g. "12.1"; empty without CUDA
  std::string cudnn_version;   ///< e.g. "8.9.2"; empty without cuDNN
  bool nccl_available = false; ///< the NCCL process group is in the loaded LibTorch
  std::string nccl_version;    ///< e.g. "2.18.3" when libnccl is loaded
  bool gloo_available = false; ///< the Gloo process group is in the loaded LibTorch
  /// This ds was compiled with the process group (its headers were found: engine/comm/detail/c10d.hpp).
  /// A pip LibTorch has Gloo and NCCL inside but ships neither gloo's headers nor nccl.h.
  bool ds_gloo = false;
  bool ds_nccl = false;
  int intraop_threads = 0;     ///< at::get_num_threads()
  int interop_threads = 0;     ///< at::get_num_interop_threads()
  std::string parallel_backend;///< "OpenMP", "native thread pool", ...
  std::string cpu_capability;  ///< the vector ISA LibTorch's CPU kernels dispatch to, e.g. "AVX2"
  std::string parallel_info;   ///< at::get_parallel_info(), verbatim
  std::string build_config;    ///< at::show_config(), verbatim: compiler, BLAS, flags
};

TorchInfo torch_info();

/// One `KEY=value` from the "Build settings:" line of at::show_config() ("" when absent);
/// e.g. torch_build_setting(config, "BLAS_INFO") == "generic".
std::string torch_build_setting(std::string_view build_config, std::string_view key);

/// The rest of the first line of `text` that starts (after blanks and "- ") with `prefix`;
/// e.g. torch_config_line(config, "CPU capability usage:") == "AVX2". "" when absent.
std::string torch_config_line(std::string_view text, std::string_view prefix);

/// One NVIDIA GPU as the driver reports it.
struct GpuDevice {
  int index = 0;
  std::string name;         ///< e.g. "NVIDIA H100 80GB HBM3"
  double memory_bytes = 0;  ///< total device memory
};

/// The GPUs the NVIDIA driver sees, read through NVML (libnvidia-ml.so.1, loaded with dlopen so
/// that ds runs on machines without it). Independent of LibTorch: a GPU that LibTorch cannot use
/// (a CPU-only build) still shows here.
struct DriverGpus {
  bool driver_loaded = false;  ///< libnvidia-ml was found and initialised
  std::string driver_version;  ///< e.g. "550.54.15"
  std::vector<GpuDevice> devices;
  std::string error;           ///< why the driver could not be asked; empty when fine
};
DriverGpus driver_gpus();

}  // namespace ds::engine
