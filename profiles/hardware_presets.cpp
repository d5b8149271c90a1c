#include "profiles/hardware_presets.hpp"

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "common/units.hpp"

namespace ds::profiles {
namespace {

constexpr double kTB = 1e12;
constexpr double kGBps = 1e9;   // bytes per second in a "GB/s" of a datasheet
constexpr double kTflops = 1e12;
// Network cards are sold in Gb/s: one 400 Gb/s NIC per GPU moves 50 GB/s.
constexpr double gbit_per_s(double gbit) { return gbit * 1e9 / 8; }

ClusterSpec gpu_node(const char* name, const char* device_name, double memory_mib, int gpus) {
  ClusterSpec s;
  s.source = name;
  s.is_preset = true;
  s.device = DeviceKind::kGpu;
  s.device_name = device_name;
  // Usable memory as nvidia-smi reports it (memory.total in MiB), which is what an allocator sees.
  s.device_memory_bytes = memory_mib * kMiB;
  s.gpus_per_node = gpus;
  return s;
}

// Hopper SXM nodes (DGX H100 / DGX H200) differ only in memory size and bandwidth.
// H100 SXM5: NVIDIA H100 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/h100): FP32 67
// TFLOPS, BF16/FP16 1,979 TFLOPS with sparsity = 989.4 dense, HBM3 3.35 TB/s, NVLink 900 GB/s
// total (450 GB/s each way), PCIe Gen5 128 GB/s total (64 GB/s each way). nvidia-smi: 81559 MiB.
// H200 SXM: NVIDIA H200 datasheet (nvidia.com/en-us/data-center/h200): 141 GB HBM3e at 4.8 TB/s,
// otherwise the H100's compute, NVLink and PCIe. nvidia-smi: 143771 MiB.
// DGX H100 / DGX H200 datasheets: 2 TB system memory, 8x 3.84 TB NVMe data cache, 8x 400 Gb/s
// ConnectX-7 (one per GPU).
HardwarePreset hopper(const char* name, const char* device_name, double memory_mib, double hbm_gbps,
                      const char* description) {
  HardwarePreset p{gpu_node(name, device_name, memory_mib, 8), description};
  auto& s = p.spec;
  s.cpu_memory_per_node_bytes = 2 * kTB;
  s.nvme_bytes_per_node = 8 * 3.84 * kTB;
  s.rates.gemm_flops_per_s = {67 * kTflops, 989.4 * kTflops, 989.4 * kTflops};
  s.rates.hbm_bytes_per_s = hbm_gbps * kGBps;
  s.rates.pcie_h2d_bytes_per_s = s.rates.pcie_d2h_bytes_per_s = 64 * kGBps;
  s.rates.intra_node_bus_bytes_per_s = 450 * kGBps;
  s.rates.inter_node_bus_bytes_per_s = gbit_per_s(400);
  return p;
}

// A100 SXM4: NVIDIA A100 datasheet (nvidia.com/en-us/data-center/a100): FP32 19.5 TFLOPS,
// BF16/FP16 312 TFLOPS dense, HBM2e 2,039 GB/s (80GB) / HBM2 1,555 GB/s (40GB), NVLink 600 GB/s
// total, PCIe Gen4 64 GB/s total. DGX A100 datasheet: 640GB system 2 TB RAM and 30 TB NVMe,
// 320GB system 1 TB RAM and 15 TB NVMe; 8x 200 Gb/s HDR InfiniBand. nvidia-smi: 81920 / 40960 MiB.
HardwarePreset a100(bool big) {
  HardwarePreset p{gpu_node(big ? "a100-80g" : "a100-40g", big ? "NVIDIA A100-SXM4-80GB" : "NVIDIA A100-SXM4-40GB",
                            big ? 81920 : 40960, 8),
                   big ? "8x A100 SXM4 80GB (DGX A100 640GB)" : "8x A100 SXM4 40GB (DGX A100 320GB)"};
  auto& s = p.spec;
  s.cpu_memory_per_node_bytes = (big ? 2 : 1) * kTB;
  s.nvme_bytes_per_node = (big ? 8 : 4) * 3.84 * kTB;
  s.rates.gemm_flops_per_s = {19.5 * kTflops, 312 * kTflops, 312 * kTflops};
  s.rates.hbm_bytes_per_s = (big ? 2039 : 1555) * kGBps;
  s.rates.pcie_h2d_bytes_per_s = s.rates.pcie_d2h_bytes_per_s = 32 * kGBps;
  s.rates.intra_node_bus_bytes_per_s = 300 * kGBps;
  s.rates.inter_node_bus_bytes_per_s = gbit_per_s(200);
  return p;
}

// L40S: NVIDIA L40S datasheet (nvidia.com/en-us/data-center/l40s): 48 GB GDDR6 at 864 GB/s,
// FP32 91.6 TFLOPS, BF16/FP16 362.05 TFLOPS dense (733 sparse), PCIe Gen4 x16 64 GB/s total, no
// NVLink (collectives cross PCIe). No reference server: 8 GPUs, 1 TB RAM, 2x 3.84 TB NVMe and one
// 200 Gb/s NIC per GPU are assumptions; override with --cpu-mem/--nvme. nvidia-smi: 46068 MiB.
HardwarePreset l40s() {
  HardwarePreset p{gpu_node("l40s", "NVIDIA L40S", 46068, 8), "8x L40S 48GB PCIe (assumed server)"};
  auto& s = p.spec;
  s.cpu_memory_per_node_bytes = 1 * kTB;
  s.nvme_bytes_per_node = 2 * 3.84 * kTB;
  s.rates.gemm_flops_per_s = {91.6 * kTflops, 362.05 * kTflops, 362.05 * kTflops};
  s.rates.hbm_bytes_per_s = 864 * kGBps;
  s.rates.pcie_h2d_bytes_per_s = s.rates.pcie_d2h_bytes_per_s = 32 * kGBps;
  s.rates.intra_node_bus_bytes_per_s = 32 * kGBps;
  s.rates.inter_node_bus_bytes_per_s = gbit_per_s(200);
  return p;
}

// The engine's CPU mode: one rank on the host, its memory shared with anything "offloaded".
// There is no datasheet for "a CPU"; these are nominal figures for a 2-socket server, meant to be
// replaced by `ds profile`: 256 GiB RAM, AVX-512 FP32 GEMM ~2 TFLOPS, DRAM ~200 GB/s, the CPU
// optimizer memory-bound at ~40 bytes of traffic per parameter (~2e9 params/s), one NVMe drive.
HardwarePreset cpu_only() {
  HardwarePreset p;
  p.description = "host CPU only (the engine's CPU mode; nominal figures)";
  auto& s = p.spec;
  s.source = "cpu-only";
  s.is_preset = true;
  s.device = DeviceKind::kCpu;
  s.device_name = "cpu";
  s.gpus_per_node = 1;
  s.cpu_memory_per_node_bytes = s.device_memory_bytes = 256 * kGiB;
  s.nvme_bytes_per_node = 3.84 * kTB;
  s.rates.gemm_flops_per_s = {2 * kTflops, 0, 1 * kTflops};
  s.rates.hbm_bytes_per_s = 200 * kGBps;
  s.rates.intra_node_bus_bytes_per_s = 10 * kGBps;
  s.rates.inter_node_bus_bytes_per_s = gbit_per_s(100);
  s.rates.cpu_adam_params_per_s = 2e9;
  s.rates.disk_read_bytes_per_s = 6.8 * kGBps;
  s.rates.disk_write_bytes_per_s = 4 * kGBps;
  return p;
}

// GPU servers share the host-side figures no datasheet gives: DeepSpeed's CPU Adam on a 2-socket
// host (~2e9 params/s, nominal as above) and a RAID-0 of Gen4 NVMe drives (~6.8 GB/s read and
// ~4 GB/s write each, e.g. Samsung PM1733 datasheet).
void add_host_rates(HardwarePreset& p, int drives) {
  p.spec.rates.cpu_adam_params_per_s = 2e9;
  p.spec.rates.disk_read_bytes_per_s = drives * 6.8 * kGBps;
  p.spec.rates.disk_write_bytes_per_s = drives * 4 * kGBps;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<HardwarePreset> build() {
  std::vector<HardwarePreset> out = {
      hopper("h100-80g", "NVIDIA H100 80GB HBM3", 81559, 3350, "8x H100 SXM5 80GB (DGX H100)"),
      hopper("h200", "NVIDIA H200", 143771, 4800, "8x H200 SXM 141GB (DGX H200)"), a100(true), a100(false), l40s()};
  for (auto& p : out) add_host_rates(p, static_cast<int>(p.spec.nvme_bytes_per_node / (3.84 * kTB) + 0.5));
  out.push_back(cpu_only());
  return out;
}

}  // namespace

const std::vector<HardwarePreset>& hardware_presets() {
  static const std::vector<HardwarePreset> presets = build();
  return presets;
}

std::vector<std::string> hardware_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : hardware_presets()) names.push_back(p.spec.source);
  return names;
}

ClusterSpec hardware_preset(std::string_view name, const std::string& what) {
  for (const auto& p : hardware_presets()) {
    if (p.spec.source == name) return p.spec;
  }
  throw UsageError(format_error(what, "unknown hardware preset", "'" + std::string(name) + "'",
                                "one of " + join(hardware_preset_names()),
                                "nearest: " + join(nearest(name, hardware_preset_names(), 3)) +
                                    "; or give --gpu-mem/--cpu-mem directly"));
}

}  // namespace ds::profiles
