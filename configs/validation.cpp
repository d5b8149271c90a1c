// Cross-field rules. Each mirrors a check DeepSpeed makes at start-up (cited), made before any
// process is launched and worded as ds errors.
#include "configs/validation.hpp"

#include <cstdio>
#include <string>

#include "common/error.hpp"

namespace ds::configs {
namespace {

std::string at(std::string_view source, const std::string& path) { return std::string(source) + ": " + path; }

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// runtime/config.py: "bfloat16 and fp16 modes cannot be simultaneously enabled".
void check_precision(const Config& c, std::string_view source) {
  const bool fp16 = c.fp16.enabled && !c.is_auto("fp16.enabled");
  const bool bf16 = c.bf16.enabled && !c.is_auto("bf16.enabled");
  if (fp16 && bf16) {
    throw ConfigError(format_error(at(source, "fp16.enabled, bf16.enabled"), "both enabled", "true and true",
                                   "at most one of fp16 and bf16", "pick one; bf16 needs no loss scaling"));
  }
  if (!c.ds.dtype) return;
  const DType dtype = *c.ds.dtype;
  const bool clash = (fp16 && dtype != DType::kFp16) || (bf16 && dtype != DType::kBf16);
  if (clash) {
    const std::string enabled = fp16 ? "fp16.enabled" : "bf16.enabled";
    throw ConfigError(format_error(at(source, "ds.dtype"), "contradicts " + enabled, "\"" + to_string(dtype) + "\"",
                                   "\"" + std::string(fp16 ? "fp16" : "bf16") + "\" while " + enabled + " is true",
                                   "leave ds.dtype out to follow the fp16/bf16 sections"));
  }
}

void check_nvme_path(const std::string& path, OffloadDevice device, const std::string& nvme_path,
                     std::string_view source) {
  if (device == OffloadDevice::kNvme && nvme_path.empty()) {
    throw ConfigError(format_error(at(source, path + ".nvme_path"), "missing for device \"nvme\"", "", "a directory on a fast local drive",
                                   "e.g. \"nvme_path\": \"/local_nvme\""));
  }
}

// zero/config.py offload_ratio_check, offload_config.py ("valid only with stage 3"), stage3 engine
// asserts, and the ZeRO-Offload optimizer requirement in runtime/engine.py.
void check_offload(const Config& c, std::string_view source) {
  const auto& z = c.zero_optimization;
  const std::string stage = "stage " + std::to_string(z.stage);
  if (z.offload_param.device != OffloadDevice::kNone && z.stage != 3) {
    throw ConfigError(format_error(at(source, "zero_optimization.offload_param"), "parameter offload needs ZeRO stage 3",
                                   stage, "zero_optimization.stage 3", "set \"stage\": 3 or remove offload_param"));
  }
  if (z.offload_optimizer.device != OffloadDevice::kNone && z.stage == 0) {
    throw ConfigError(format_error(at(source, "zero_optimization.offload_optimizer"),
                                   "optimizer offload needs ZeRO", stage, "zero_optimization.stage 1, 2 or 3"));
  }
  if (z.offload_optimizer.ratio < 1.0 && z.stage != 3) {
    throw ConfigError(format_error(at(source, "zero_optimization.offload_optimizer.ratio"),
                                   "partial offload needs ZeRO stage 3", stage, "ratio 1 below stage 3"));
  }
  check_nvme_path("zero_optimization.offload_optimizer", z.offload_optimizer.device, z.offload_optimizer.nvme_path, source);
  check_nvme_path("zero_optimization.offload_param", z.offload_param.device, z.offload_param.nvme_path, source);
  const auto type = c.optimizer.type;
  const bool cpu_capable = type == OptimizerType::kNone || type == OptimizerType::kAdam ||
                           type == OptimizerType::kAdamW || type == OptimizerType::kAdagrad || type == OptimizerType::kLion;
  if (z.offload_optimizer.device != OffloadDevice::kNone && !cpu_capable && c.zero_force_ds_cpu_optimizer) {
    throw ConfigError(format_error(at(source, "optimizer.type"), "has no CPU implementation for ZeRO-Offload",
                                   "\"" + to_string(type) + "\"", "\"Adam\", \"AdamW\", \"Adagrad\" or \"Lion\"",
                                   "remove offload_optimizer or change the optimizer"));
  }
}

void require(bool ok, const Config& c, const std::string& path, const std::string& what, std::string_view source) {
  if (ok || c.is_auto(path)) return;
  throw ConfigError(format_error(at(source, path), "missing key", "", what,
                                 "scheduler type " + to_string(c.scheduler.type) + " needs it"));
}

// lr_schedules.py: total_num_steps and cycle_{min,max}_lr have no default.
void check_scheduler(const Config& c, std::string_view source) {
  const auto& p = c.scheduler.params;
  switch (c.scheduler.type) {
    case SchedulerType::kWarmupDecayLR:
    case SchedulerType::kWarmupCosineLR:
      require(p.total_num_steps.has_value(), c, "scheduler.params.total_num_steps", "an integer >= 1 or \"auto\"", source);
      break;
    case SchedulerType::kOneCycle:
      require(p.cycle_min_lr.has_value(), c, "scheduler.params.cycle_min_lr", "a number >= 0", source);
      require(p.cycle_max_lr.has_value(), c, "scheduler.params.cycle_max_lr", "a number >= 0", source);
      if (*p.cycle_max_lr < *p.cycle_min_lr) {
        throw ConfigError(format_error(at(source, "scheduler.params.cycle_max_lr"), "below cycle_min_lr",
                                       number(*p.cycle_max_lr) + " < " + number(*p.cycle_min_lr),
                                       "cycle_max_lr >= cycle_min_lr"));
      }
      break;
    default:
      break;
  }
}

// Without the data-parallel size the rule cannot be checked fully, but three given numbers must
// at least imply a whole number of ranks.
void check_batch(const Config& c, std::string_view source) {
  if (!c.train_batch_size || !c.train_micro_batch_size_per_gpu || !c.gradient_accumulation_steps) return;
  const std::int64_t per_rank = *c.train_micro_batch_size_per_gpu * *c.gradient_accumulation_steps;
  if (*c.train_batch_size % per_rank == 0) return;
  throw ConfigError(format_error(
      at(source, "train_batch_size"), "not a multiple of micro batch * accumulation",
      "train_batch_size=" + std::to_string(*c.train_batch_size) + ", train_micro_batch_size_per_gpu=" +
          std::to_string(*c.train_micro_batch_size_per_gpu) + ", gradient_accumulation_steps=" +
          std::to_string(*c.gradient_accumulation_steps),
      "train_batch_size = train_micro_batch_size_per_gpu * gradient_accumulation_steps * data-parallel size",
      "give two of the three and ds derives the third"));
}

// runtime/pipe/engine.py: "ZeRO-2 and ZeRO-3 are incompatible with pipeline parallelism".
void check_pipeline(const Config& c, std::string_view source) {
  const auto& partition = c.pipeline.partition;
  const bool known = partition == "best" || partition == "parameters" || partition == "uniform" ||
                     partition.rfind("type:", 0) == 0;
  if (!known) {
    throw ConfigError(format_error(at(source, "pipeline.partition"), "unknown value", "\"" + partition + "\"",
                                   "\"best\", \"parameters\", \"uniform\" or \"type:<regex>\""));
  }
  if (c.pipeline.stages.value_or(1) > 1 && c.zero_optimization.stage >= 2) {
    throw ConfigError(format_error(at(source, "zero_optimization.stage"), "incompatible with pipeline parallelism",
                                   std::to_string(c.zero_optimization.stage) + " with pipeline.stages " +
                                       std::to_string(*c.pipeline.stages),
                                   "stage 0 or 1 when pipeline.stages > 1"));
  }
}

}  // namespace

void validate(const Config& config, std::string_view source_name) {
  check_precision(config, source_name);
  check_offload(config, source_name);
  check_scheduler(config, source_name);
  check_batch(config, source_name);
  check_pipeline(config, source_name);
}

}  // namespace ds::configs
