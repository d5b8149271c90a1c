#include "estimators/runtime_overhead.hpp"

#include <cstdio>

namespace ds::estimators {

RuntimeOverhead runtime_overhead(const profiles::ClusterSpec& cluster) {
  const bool gpu = cluster.device == profiles::DeviceKind::kGpu;
  RuntimeOverhead o;
  o.runtime_bytes = cluster.runtime_overhead_bytes.value_or(gpu ? kDefaultCudaContextBytes : kDefaultCpuProcessBytes);
  if (cluster.world_size() > 1) {
    o.collective_bytes = cluster.collective_overhead_bytes.value_or(gpu ? kDefaultNcclBytes : kDefaultGlooBytes);
  }
  o.fragmentation = cluster.allocator_fragmentation.value_or(kDefaultFragmentation);
  return o;
}

std::vector<MemoryItem> runtime_overhead_memory(const profiles::ClusterSpec& cluster, double tensor_peak_bytes) {
  const bool gpu = cluster.device == profiles::DeviceKind::kGpu;
  auto from = [](const std::optional<double>& v) { return std::string(v ? "measured" : "default"); };
  RuntimeOverhead o = runtime_overhead(cluster);
  std::vector<MemoryItem> out;
  out.push_back({Category::kRuntime, Location::kDevice, Phase::kAlways, o.runtime_bytes,
                 (gpu ? "CUDA context (" : "process baseline (") + from(cluster.runtime_overhead_bytes) + ")"});
  if (o.collective_bytes > 0) {
    out.push_back({Category::kRuntime, Location::kDevice, Phase::kAlways, o.collective_bytes,
                   (gpu ? "NCCL buffers (" : "collective buffers (") + from(cluster.collective_overhead_bytes) + ")"});
  }
  char detail[64];
  std::snprintf(detail, sizeof detail, "%.0f%% of the tensor peak", o.fragmentation * 100);
  out.push_back({Category::kFragmentation, Location::kDevice, Phase::kAlways, o.fragmentation * tensor_peak_bytes,
                 detail});
  return out;
}

}  // namespace ds::estimators
