#include "profiles/profile_facts.hpp"

#include <algorithm>

namespace ds::profiles {
namespace {

// Largest value among measurements of `probe` whose params match; 0 when there is none.
double best(const Profile& p, const std::string& probe, const nlohmann::json& match = nlohmann::json::object()) {
  double out = 0;
  for (const auto& m : p.measurements) {
    if (m.probe != probe) continue;
    bool ok = true;
    for (const auto& [k, v] : match.items()) ok = ok && m.params.contains(k) && m.params.at(k) == v;
    if (ok) out = std::max(out, m.value);
  }
  return out;
}

// Bus bandwidth of a collective at the largest message size measured (the bandwidth-bound end,
// which is what gradient buckets of tens of MiB see).
double bus_bandwidth_at_largest(const Profile& p, const std::string& probe) {
  double bytes = -1, busbw = 0;
  for (const auto& m : p.measurements) {
    if (m.probe != probe || !m.params.contains("bytes")) continue;
    double b = m.params.at("bytes").get<double>();
    if (b > bytes) {
      bytes = b;
      busbw = m.value;
    }
  }
  return busbw;
}

}  // namespace

ProfileFacts facts_from_profile(const Profile& p) {
  ProfileFacts f;
  f.profile_id = std::to_string(p.id);
  f.cpu_memory_bytes = static_cast<double>(p.machine.memory_bytes);
  const bool gpu = !p.machine.gpus.empty();
  ClusterRates& r = f.rates;
  if (gpu) {
    f.device = DeviceKind::kGpu;
    f.device_name = p.machine.gpus.front().name;
    f.devices_per_node = static_cast<int>(p.machine.gpus.size());
    f.device_memory_bytes = static_cast<double>(p.machine.gpus.front().memory_bytes);
    r.gemm_flops_per_s = {best(p, "gpu.gemm", {{"dtype", "fp32"}}) * 1e12, best(p, "gpu.gemm", {{"dtype", "fp16"}}) * 1e12,
                          best(p, "gpu.gemm", {{"dtype", "bf16"}}) * 1e12};
    r.hbm_bytes_per_s = best(p, "gpu.d2d") * 1e9;
    r.pcie_h2d_bytes_per_s = best(p, "gpu.h2d", {{"pinned", true}}) * 1e9;
    r.pcie_d2h_bytes_per_s = best(p, "gpu.d2h", {{"pinned", true}}) * 1e9;
  } else {
    // The engine's CPU mode: the "device" is the host, its memory the node's RAM.
    f.device = DeviceKind::kCpu;
    f.device_name = p.machine.cpu_model;
    f.devices_per_node = 1;
    f.device_memory_bytes = f.cpu_memory_bytes;
    r.gemm_flops_per_s = {best(p, "cpu.gemm", {{"dtype", "fp32"}}) * 1e9, 0, best(p, "cpu.gemm", {{"dtype", "bf16"}}) * 1e9};
    r.hbm_bytes_per_s = best(p, "cpu.stream_triad") * 1e9;
  }
  r.intra_node_bus_bytes_per_s = bus_bandwidth_at_largest(p, "coll.all_reduce") * 1e9;
  r.cpu_adam_params_per_s = best(p, "cpu.adam");
  r.disk_read_bytes_per_s = best(p, "storage.seq_read") * 1e9;
  r.disk_write_bytes_per_s = best(p, "storage.seq_write") * 1e9;
  return f;
}

}  // namespace ds::profiles
