#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ds::profiles {

/// One GPU as the machine reports it: the name from nvidia-smi (read_machine_info), memory and SMs
/// from the engine's CUDA probe when LibTorch has CUDA.
struct GpuInfo {
  std::string name;            ///< e.g. "NVIDIA H100 80GB HBM3"
  std::uint64_t memory_bytes = 0;
  int sm_count = 0;
};

/// What identifies a machine for the store: two runs on the same box give the same fingerprint,
/// a different CPU, core count, memory size, GPU set (names and count) or driver gives a
/// different one. GPU memory is left out: nvidia-smi and CUDA report it differently, and the
/// name already carries the memory variant ("H100 80GB HBM3").
struct MachineInfo {
  std::string hostname;
  std::string cpu_model;       ///< /proc/cpuinfo "model name"
  int cpu_cores = 0;           ///< physical cores (falls back to logical CPUs)
  int cpu_threads = 0;         ///< logical CPUs online
  std::uint64_t memory_bytes = 0;  ///< MemTotal
  std::string simd;            ///< best CPU ISA ds kernels use: scalar | avx2 | avx512
  std::vector<GpuInfo> gpus;
  std::string gpu_driver;      ///< driver / CUDA runtime version, empty without GPU

  /// Stable hex digest over the identifying fields (not the hostname, which clusters reuse).
  std::string fingerprint() const;
};

/// Reads CPU model, cores, threads and memory from /proc, and GPU names and driver from
/// `nvidia-smi` when it is on PATH (nothing when it is not, or fails). Cached per process.
MachineInfo read_machine_info();

/// Parsers split out so they can be tested on fixed text.
std::string parse_cpu_model(const std::string& cpuinfo);
int parse_physical_cores(const std::string& cpuinfo);
std::uint64_t parse_mem_total_bytes(const std::string& meminfo);
/// `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader` output: one GPU per line;
/// sets `driver` from the first line. Lines that are not "name, version" are skipped.
std::vector<GpuInfo> parse_nvidia_smi_gpus(const std::string& csv, std::string& driver);

}  // namespace ds::profiles
