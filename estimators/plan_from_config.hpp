#pragma once
// A Plan from a DeepSpeed config (`ds estimate memory --config ds_config.json`): ZeRO stage and
// offload, precision, optimizer, batch, buckets, parallel degrees and checkpointing, with "auto"
// resolved against the model the way the Hugging Face Trainer integration resolves it.
#include <string>

#include "configs/config.hpp"
#include "estimators/model_spec.hpp"
#include "estimators/plan.hpp"

namespace ds::estimators {

/// The Plan `config` describes for `model` on `world` ranks. "auto" values are resolved from the
/// model's hidden size and the data-parallel size (configs::resolve_auto), then DeepSpeed's batch
/// rule is applied (configs::resolve_batch); both throw ConfigError naming `source` and the key. The plan is
/// not validated here. Optimizers are mapped by the state they keep: Adam, AdamW, Lamb and the
/// 1-bit/0-1 variants keep two fp32 states (as Adam); Lion and Adagrad one (as SGD with
/// momentum). "every-N" checkpointing is priced as full recomputation.
Plan plan_from_config(const configs::Config& config, const ModelSpec& model, int world,
                      const std::string& source = "config");

}  // namespace ds::estimators
