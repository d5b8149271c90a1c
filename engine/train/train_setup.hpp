#pragma once
// From what the user wrote (a DeepSpeed JSON/TOML config, --set overrides and named flags) to
// resolved TrainerOptions: the model, the data, "auto" values, the batch rule for the
// data-parallel size, the device, and the peak FLOP/s for MFU from this machine's stored profile.
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "configs/config.hpp"
#include "configs/overrides.hpp"
#include "engine/train/trainer.hpp"

namespace ds::engine::train {

/// What `ds train` knows besides the config.
struct TrainSetup {
  std::filesystem::path config_path;        ///< "" = DeepSpeed's defaults
  std::vector<configs::Override> overrides; ///< --set and the named flags, in order
  int world_size = 1;                       ///< data-parallel ranks
  int local_rank = 0;                       ///< picks cuda:<local_rank>
  std::string device;                       ///< "cpu" | "cuda" | "cuda:N"; "" = CUDA when available
  std::filesystem::path db_path;            ///< the store, for the measured GEMM peak (MFU); "" = skip
};

/// The model `ds train` builds when ds.model is empty.
inline constexpr const char* kDefaultTrainModel = "ds-tiny";
/// train_micro_batch_size_per_gpu when the config sets none of the batch keys (HF
/// TrainingArguments.per_device_train_batch_size).
inline constexpr std::int64_t kDefaultMicroBatch = 8;

/// The config after overrides, with "auto" resolved for `model` and the batch rule applied.
/// Throws ConfigError naming the key.
configs::Config resolve_train_config(const TrainSetup& setup, const estimators::ModelSpec& model,
                                     configs::Config config);

/// Everything above, ready for Trainer. Throws ConfigError/UsageError naming the key or file:
/// no ds.data, no ds.steps, seq_len beyond a learned-position model's context, an unknown device.
TrainerOptions make_trainer_options(const TrainSetup& setup);

/// "cpu", "cuda", "cuda:1" -> a device ("" = CUDA `local_rank` when available, else CPU).
/// Throws UsageError for other names and for CUDA in a build or on a machine without it.
torch::Device parse_train_device(const std::string& name, int local_rank);

/// The measured GEMM peak (FLOP/s) in `dtype` from this machine's newest stored profile, or 0
/// when the store or a profile for this machine is missing.
double measured_peak_flops(const std::filesystem::path& db_path, configs::DType dtype);

}  // namespace ds::engine::train
