#pragma once
// Datasheet presets for `--gpu NAME`: one node of a common training server, with peak figures
// from the vendor's datasheets (sources cited in hardware_presets.cpp). A stored `ds profile`
// replaces these with measured numbers.
#include <string>
#include <string_view>
#include <vector>

#include "profiles/cluster_spec.hpp"

namespace ds::profiles {

/// One preset: the node it describes (nodes = 1) and a one-line description.
struct HardwarePreset {
  ClusterSpec spec;         ///< spec.source is the preset name
  std::string description;  ///< e.g. "8x H100 SXM5 80GB (DGX H100)"
};

/// All presets, in listing order: h100-80g, h200, a100-80g, a100-40g, l40s, cpu-only.
const std::vector<HardwarePreset>& hardware_presets();

/// Preset names in listing order.
std::vector<std::string> hardware_preset_names();

/// The preset's ClusterSpec; UsageError naming `what` (e.g. "--gpu") with the nearest preset
/// names when there is none of that name.
ClusterSpec hardware_preset(std::string_view name, const std::string& what = "--gpu");

}  // namespace ds::profiles
