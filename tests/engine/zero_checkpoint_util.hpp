// Test helpers that write ZeRO fragment checkpoints the way a partitioned optimizer does: each
// group's flat state padded to a multiple of the world size and cut into equal rank partitions
// (DeepSpeed's stage 1/2 layout), every partition saved as per-parameter fragments.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/checkpoint/zero_fragments.hpp"
#include "engine/train/flat_params.hpp"

namespace ds::test {

/// Rank `rank`'s fragments of `flat` ("group<g>.<kind>" tensors, as
/// MixedPrecisionOptimizer::optimizer_state_tensors names them) split over `world` ranks.
inline std::vector<engine::checkpoint::Fragment> rank_fragments(const std::vector<engine::train::NamedTensor>& flat,
                                                                const nlohmann::json& layouts, int rank, int world) {
  std::vector<engine::checkpoint::Fragment> out;
  for (const auto& [name, tensor] : flat) {
    const auto dot = name.find('.');
    const std::size_t group = std::stoul(name.substr(5, dot - 5));
    engine::train::FlatLayout layout = engine::train::FlatLayout::from_json(layouts.at(group), "test layout");
    const std::int64_t part = (layout.numel() + world - 1) / world;
    torch::Tensor padded = torch::zeros({part * world});
    padded.narrow(0, 0, layout.numel()).copy_(tensor.reshape({-1}));
    auto pieces = engine::checkpoint::partition_fragments(name.substr(dot + 1), layout, rank * part,
                                                          padded.narrow(0, rank * part, part));
    out.insert(out.end(), pieces.begin(), pieces.end());
  }
  return out;
}

/// The trainer_state.json "optimizer" of a ZeRO run equivalent to the stage-0 `flat_meta`.
inline nlohmann::json zero_meta(const nlohmann::json& flat_meta, int world, int stage) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& layout : flat_meta.at("layouts")) {
    for (const auto& slot : layout) params.push_back({{"name", slot.at("name")}, {"shape", slot.at("shape")}});
  }
  return {{"precision", flat_meta.value("precision", "fp32")},
          {"optimizer", flat_meta.at("optimizer")},
          {"zero", {{"stage", stage}, {"world_size", world}}},
          {"params", params}};
}

/// Writes every rank's shard of `flat` into `dir`.
inline void write_shards(const std::filesystem::path& dir, const std::vector<engine::train::NamedTensor>& flat,
                         const nlohmann::json& layouts, int world, int stage) {
  for (int r = 0; r < world; ++r) {
    engine::checkpoint::write_fragment_shard(dir / engine::checkpoint::zero_shard_file_name(r), r, world, stage,
                                             rank_fragments(flat, layouts, r, world));
  }
}

}  // namespace ds::test
