#pragma once
// ClusterSpec: what the estimators and the tuner know about the machines a run will use --
// how many devices, how much memory where, and how fast each path is. It comes from a datasheet
// preset (profiles/hardware_presets.hpp) or from a stored `ds profile` measurement
// (cluster_from_profile), and any figure can be overridden on the command line.
#include <optional>
#include <string>
#include <string_view>

namespace ds::profiles {

/// What runs the model: a GPU, or the host CPU itself (the engine's CPU mode).
enum class DeviceKind { kGpu, kCpu };

std::string_view device_kind_name(DeviceKind kind);  ///< "gpu" | "cpu"

/// Peak matrix-multiply throughput by precision, FLOP/s (dense, no structured sparsity).
struct GemmRates {
  double fp32 = 0;  ///< FP32 without tensor cores (TF32 off), FLOP/s
  double fp16 = 0;  ///< FP16 tensor core, FLOP/s
  double bf16 = 0;  ///< BF16 tensor core, FLOP/s
};

/// Rates the cost model prices a plan with. 0 means unknown. Presets carry datasheet peaks;
/// profiles carry measured medians.
struct ClusterRates {
  GemmRates gemm_flops_per_s;               ///< per device
  double hbm_bytes_per_s = 0;               ///< device memory bandwidth, per device
  double pcie_h2d_bytes_per_s = 0;          ///< host to device copies, per device
  double pcie_d2h_bytes_per_s = 0;          ///< device to host copies, per device
  double intra_node_bus_bytes_per_s = 0;    ///< collective bus bandwidth within a node (NCCL busbw)
  double inter_node_bus_bytes_per_s = 0;    ///< collective bus bandwidth across nodes, per device
  double cpu_adam_params_per_s = 0;         ///< CPU optimizer step throughput, per node
  double disk_read_bytes_per_s = 0;         ///< NVMe read, per node
  double disk_write_bytes_per_s = 0;        ///< NVMe write, per node
};

/// The machines of one run. Memory figures are bytes; per device unless named per node.
struct ClusterSpec {
  int nodes = 1;                            ///< machines
  int gpus_per_node = 1;                    ///< devices (ranks) per machine; for kCpu the ranks per node
  DeviceKind device = DeviceKind::kGpu;
  std::string device_name;                  ///< e.g. "NVIDIA H100 80GB HBM3"
  double device_memory_bytes = 0;           ///< usable memory of one device (for kCpu: == cpu memory per node)
  double cpu_memory_per_node_bytes = 0;     ///< host RAM per node
  double nvme_bytes_per_node = 0;           ///< local NVMe capacity per node usable for offload
  ClusterRates rates;
  /// Per-device memory the runtime takes before any tensor: CUDA context and kernels (GPU) or
  /// the process with LibTorch loaded (CPU). Unset: the estimator's documented default.
  std::optional<double> runtime_overhead_bytes;
  /// Per-device memory of the collective library when there is more than one rank (NCCL
  /// channel buffers). Unset: the estimator's documented default.
  std::optional<double> collective_overhead_bytes;
  /// Fraction of allocated bytes lost to allocator fragmentation. Unset: documented default.
  std::optional<double> allocator_fragmentation;
  std::string source;                       ///< preset name or stored profile id
  bool is_preset = true;                    ///< true: datasheet figures; false: measured

  int world_size() const { return nodes * gpus_per_node; }
};

/// What one `ds profile` run measured on a node; the profile store turns its rows into this and
/// cluster_from_profile turns it into the ClusterSpec the estimators use.
struct ProfileFacts {
  std::string profile_id;                   ///< the stored profile's id
  DeviceKind device = DeviceKind::kGpu;
  std::string device_name;
  int devices_per_node = 1;
  double device_memory_bytes = 0;           ///< total memory of one device as the driver reports it
  double cpu_memory_bytes = 0;              ///< host RAM of the node
  double nvme_bytes = 0;                    ///< free space on the offload path
  ClusterRates rates;                       ///< measured medians
  std::optional<double> runtime_overhead_bytes;     ///< measured device memory after init, before tensors
  std::optional<double> collective_overhead_bytes;  ///< measured growth after the first collective
};

/// A ClusterSpec of `nodes` identical nodes from a stored profile (is_preset false, source = id).
ClusterSpec cluster_from_profile(const ProfileFacts& facts, int nodes = 1);

/// Command-line overrides (--nodes, --gpus-per-node, --gpu-mem, --cpu-mem, --nvme); unset fields
/// leave the spec as it is.
struct ClusterOverrides {
  std::optional<int> nodes;
  std::optional<int> gpus_per_node;
  std::optional<double> device_memory_bytes;
  std::optional<double> cpu_memory_per_node_bytes;
  std::optional<double> nvme_bytes_per_node;
};

/// Applies the overrides and checks the result (UsageError naming the flag for a count below 1
/// or a negative size). Overriding a figure appends "+overrides" to the source.
ClusterSpec apply_overrides(ClusterSpec spec, const ClusterOverrides& overrides);

}  // namespace ds::profiles
