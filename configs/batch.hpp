#pragma once
// The batch rule: train_batch_size = train_micro_batch_size_per_gpu * gradient_accumulation_steps
// * data-parallel size. Any two determine the third; one alone follows DeepSpeed
// (runtime/config.py _set_batch_related_parameters): train_batch_size alone gives accumulation 1,
// micro alone gives accumulation 1; neither given is an error.
#include <cstdint>
#include <string_view>

#include "configs/config.hpp"

namespace ds::configs {

/// The three batch numbers after the rule was applied.
struct ResolvedBatch {
  std::int64_t train_batch_size = 0;                ///< samples per optimizer step, all ranks
  std::int64_t train_micro_batch_size_per_gpu = 0;  ///< samples per forward/backward per rank
  std::int64_t gradient_accumulation_steps = 0;     ///< micro-batches per optimizer step
  bool operator==(const ResolvedBatch&) const = default;
};

/// Applies the batch rule for `dp_size` data-parallel ranks. Throws ConfigError naming the three
/// numbers, the dp size and the rule when they disagree, when a value is not positive, or when a
/// batch key is still "auto" (resolve_auto first).
ResolvedBatch resolve_batch(const Config& config, int dp_size, std::string_view source_name = "config");

/// `config` with the three batch keys set to the resolved numbers (and marked as set).
Config with_resolved_batch(const Config& config, int dp_size, std::string_view source_name = "config");

}  // namespace ds::configs
