#pragma once
// Named model architectures for `--model <preset>`: public checkpoints (numbers copied from their
// Hugging Face config.json) and the tiny models the ds engine trains in its tests.
#include <string>
#include <string_view>
#include <vector>

#include "estimators/model_spec.hpp"

namespace ds::estimators {

/// One preset: its ModelSpec and where the numbers come from.
struct ModelPreset {
  ModelSpec spec;      ///< spec.name is the preset name, e.g. "llama-2-7b"
  std::string source;  ///< Hugging Face repository of the config.json, or "ds" for our own models
};

/// All presets, in the order `ds estimate presets` lists them.
const std::vector<ModelPreset>& model_presets();

/// The preset of that exact name, or nullptr.
const ModelPreset* find_model_preset(std::string_view name);

/// Preset names in listing order.
std::vector<std::string> model_preset_names();

}  // namespace ds::estimators
