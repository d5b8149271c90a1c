#pragma once
// "auto" values, as the Hugging Face Trainer integration allows them
// (transformers/integrations/deepspeed.py HfTrainerDeepSpeedConfig), resolved from model and run
// facts. docs/config.md lists each rule.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "configs/config.hpp"

namespace ds::configs {

/// The facts "auto" is resolved from. Trainer-argument defaults are HF TrainingArguments' defaults.
struct AutoContext {
  // model facts
  std::optional<std::int64_t> hidden_size;  ///< needed by the zero_optimization bucket rules
  // run facts
  int dp_size = 1;                          ///< data-parallel world size
  std::optional<int> pipeline_stages;       ///< for pipeline.stages "auto"; unset = 1
  std::optional<std::int64_t> total_steps;  ///< unset = ds.steps (when > 0)
  // trainer arguments (HF TrainingArguments names and defaults)
  std::int64_t per_device_train_batch_size = 8;
  std::int64_t gradient_accumulation_steps = 1;
  double learning_rate = 5e-5;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  std::int64_t warmup_steps = 0;
  /// fp16/bf16 "enabled": "auto" -> whether this dtype is the compute dtype; unset = ds.dtype
  /// (fp32 when ds.dtype is unset too).
  std::optional<DType> dtype;
  std::string source_name = "config";  ///< prefixes error messages
};

/// Returns `config` with every "auto" replaced by its value (and marked as set, no longer auto).
/// Throws ConfigError naming the key when a needed fact is missing (e.g. reduce_bucket_size
/// "auto" without a hidden size) or when the batch rule cannot be met.
Config resolve_auto(const Config& config, const AutoContext& context);

/// Reads the hidden size from a Hugging Face config.json ("hidden_size", else "n_embd" (GPT-2),
/// "d_model" (T5/OPT), else the largest of "hidden_sizes"; "text_config" is searched too).
/// Throws ConfigError when none is there, UsageError when the file cannot be read.
std::int64_t hidden_size_from_hf_config(const std::filesystem::path& config_json);

}  // namespace ds::configs
