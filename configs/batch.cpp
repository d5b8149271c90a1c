// The batch rule, as DeepSpeed applies it in runtime/config.py _set_batch_related_parameters
// (derive the missing value with floor division) and _batch_assertion (then require equality).
#include "configs/batch.hpp"

#include <string>

#include "common/error.hpp"

namespace ds::configs {
namespace {

const char* const kRule =
    "train_batch_size = train_micro_batch_size_per_gpu * gradient_accumulation_steps * data-parallel size";

std::string where(std::string_view source, const char* key) { return std::string(source) + ": " + key; }

[[noreturn]] void disagree(const ResolvedBatch& b, int dp_size, std::string_view source, const std::string& hint) {
  const std::int64_t product = b.train_micro_batch_size_per_gpu * b.gradient_accumulation_steps * dp_size;
  throw ConfigError(format_error(
      where(source, "train_batch_size"), "batch sizes disagree",
      "train_batch_size=" + std::to_string(b.train_batch_size) + ", train_micro_batch_size_per_gpu=" +
          std::to_string(b.train_micro_batch_size_per_gpu) + ", gradient_accumulation_steps=" +
          std::to_string(b.gradient_accumulation_steps) + ", data-parallel size=" + std::to_string(dp_size),
      std::string(kRule) + " = " + std::to_string(b.train_micro_batch_size_per_gpu) + " * " +
          std::to_string(b.gradient_accumulation_steps) + " * " + std::to_string(dp_size) + " = " +
          std::to_string(product),
      hint));
}

}  // namespace

ResolvedBatch resolve_batch(const Config& config, int dp_size, std::string_view source) {
  if (dp_size < 1) {
    throw ConfigError(format_error(std::string(source), "data-parallel size must be positive", std::to_string(dp_size),
                                   "an integer >= 1"));
  }
  for (const char* key : {"train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps"}) {
    if (config.is_auto(key)) {
      throw ConfigError(format_error(where(source, key), "still \"auto\"", "", "a number",
                                     "resolve \"auto\" first (resolve_auto; `ds config check` does it)"));
    }
  }
  const auto& tbs = config.train_batch_size;
  const auto& micro = config.train_micro_batch_size_per_gpu;
  const auto& gas = config.gradient_accumulation_steps;
  const std::int64_t dp = dp_size;
  ResolvedBatch b;
  std::string derived;  // which value was derived by floor division, for the hint
  if (tbs && micro && gas) {
    b = {*tbs, *micro, *gas};
  } else if (tbs && micro) {
    b = {*tbs, *micro, *tbs / *micro / dp};
    derived = "gradient_accumulation_steps";
  } else if (tbs && gas) {
    b = {*tbs, *tbs / dp / *gas, *gas};
    derived = "train_micro_batch_size_per_gpu";
  } else if (micro && gas) {
    b = {*micro * *gas * dp, *micro, *gas};
  } else if (tbs) {
    b = {*tbs, *tbs / dp, 1};  // DeepSpeed: accumulation 1, micro = tbs / world size
    derived = "train_micro_batch_size_per_gpu";
  } else if (micro) {
    b = {*micro * dp, *micro, 1};
  } else {
    throw ConfigError(format_error(where(source, "train_batch_size"), "no batch size given", "", "train_batch_size or train_micro_batch_size_per_gpu (or both)",
                                   "DeepSpeed needs one of them too; with only one, accumulation is 1"));
  }
  const bool consistent = b.train_micro_batch_size_per_gpu > 0 && b.gradient_accumulation_steps > 0 &&
                          b.train_batch_size == b.train_micro_batch_size_per_gpu * b.gradient_accumulation_steps * dp;
  if (!consistent) {
    disagree(b, dp_size, source,
             derived.empty() ? "give two of the three and ds derives the third"
                             : derived + " was derived by rounding down (as DeepSpeed does); pick sizes that divide evenly");
  }
  return b;
}

Config with_resolved_batch(const Config& config, int dp_size, std::string_view source) {
  const ResolvedBatch b = resolve_batch(config, dp_size, source);
  Config out = config;
  out.train_batch_size = b.train_batch_size;
  out.train_micro_batch_size_per_gpu = b.train_micro_batch_size_per_gpu;
  out.gradient_accumulation_steps = b.gradient_accumulation_steps;
  for (const char* key : {"train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps"}) {
    out.provenance.set_keys.insert(key);
  }
  return out;
}

}  // namespace ds::configs
