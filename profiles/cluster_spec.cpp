#include "profiles/cluster_spec.hpp"

#include "common/error.hpp"
#include "common/units.hpp"

namespace ds::profiles {
namespace {

void require_count(std::optional<int> value, const char* flag) {
  if (value && *value < 1) {
    throw UsageError(format_error(flag, "must be at least 1", std::to_string(*value)));
  }
}

void require_size(std::optional<double> value, const char* flag) {
  if (value && !(*value >= 0)) {
    throw UsageError(format_error(flag, "must not be negative", format_bytes(*value)));
  }
}

}  // namespace

std::string_view device_kind_name(DeviceKind kind) { return kind == DeviceKind::kCpu ? "cpu" : "gpu"; }

ClusterSpec cluster_from_profile(const ProfileFacts& facts, int nodes) {
  ClusterSpec spec;
  spec.nodes = nodes;
  spec.gpus_per_node = facts.devices_per_node;
  spec.device = facts.device;
  spec.device_name = facts.device_name;
  // A CPU run's "device" is the host: its ranks share the node's RAM.
  spec.device_memory_bytes = facts.device == DeviceKind::kCpu ? facts.cpu_memory_bytes : facts.device_memory_bytes;
  spec.cpu_memory_per_node_bytes = facts.cpu_memory_bytes;
  spec.nvme_bytes_per_node = facts.nvme_bytes;
  spec.rates = facts.rates;
  spec.runtime_overhead_bytes = facts.runtime_overhead_bytes;
  spec.collective_overhead_bytes = facts.collective_overhead_bytes;
  spec.source = facts.profile_id;
  spec.is_preset = false;
  return spec;
}

ClusterSpec apply_overrides(ClusterSpec spec, const ClusterOverrides& o) {
  require_count(o.nodes, "--nodes");
  require_count(o.gpus_per_node, "--gpus-per-node");
  require_size(o.device_memory_bytes, "--gpu-mem");
  require_size(o.cpu_memory_per_node_bytes, "--cpu-mem");
  require_size(o.nvme_bytes_per_node, "--nvme");
  if (o.nodes) spec.nodes = *o.nodes;
  if (o.gpus_per_node) spec.gpus_per_node = *o.gpus_per_node;
  bool figures = o.device_memory_bytes || o.cpu_memory_per_node_bytes || o.nvme_bytes_per_node;
  if (o.device_memory_bytes) spec.device_memory_bytes = *o.device_memory_bytes;
  if (o.cpu_memory_per_node_bytes) {
    spec.cpu_memory_per_node_bytes = *o.cpu_memory_per_node_bytes;
    // On a CPU run the device memory is the host memory.
    if (spec.device == DeviceKind::kCpu && !o.device_memory_bytes) spec.device_memory_bytes = *o.cpu_memory_per_node_bytes;
  }
  if (o.nvme_bytes_per_node) spec.nvme_bytes_per_node = *o.nvme_bytes_per_node;
  if (figures) spec.source += "+overrides";
  return spec;
}

}  // namespace ds::profiles
