// "auto" resolution. The rules are Hugging Face's (transformers/integrations/deepspeed.py,
// HfTrainerDeepSpeedConfig.trainer_config_process and trainer_config_finalize); docs/config.md
// lists them. Where HF would take a value from TrainingArguments, ds takes it from AutoContext,
// whose defaults are TrainingArguments' defaults.
#include "configs/auto_resolve.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "configs/batch.hpp"
#include "configs/validation.hpp"

namespace ds::configs {
namespace {

class Resolver {
 public:
  Resolver(const Config& config, const AutoContext& context) : out_(config), ctx_(context) {}

  Config run() {
    resolve_batch_keys();
    resolve_optimizer_keys();
    resolve_scheduler_keys();
    resolve_precision_keys();
    resolve_zero_keys();
    take("pipeline.stages", out_.pipeline.stages, ctx_.pipeline_stages.value_or(1));
    validate(out_, ctx_.source_name);
    if (batch_was_auto_) resolve_batch(out_, ctx_.dp_size, ctx_.source_name);  // the rule must hold
    return out_;
  }

 private:
  // Replaces an "auto" at `path` by `value`; the key stays marked as set, so writers emit it.
  template <class T, class V>
  void take(const char* path, T& field, const V& value) {
    if (!out_.is_auto(path)) return;
    field = value;
    out_.provenance.auto_keys.erase(path);
  }

  // HF: micro = per_device_train_batch_size, accumulation = gradient_accumulation_steps,
  // train_batch_size = world size * micro * accumulation. A value the other two fix by the batch
  // rule is derived instead, so a fixed train_batch_size keeps its meaning.
  void resolve_batch_keys() {
    auto& tbs = out_.train_batch_size;
    auto& micro = out_.train_micro_batch_size_per_gpu;
    auto& gas = out_.gradient_accumulation_steps;
    const std::int64_t dp = std::max(ctx_.dp_size, 1);
    batch_was_auto_ = out_.is_auto("train_batch_size") || out_.is_auto("train_micro_batch_size_per_gpu") ||
                      out_.is_auto("gradient_accumulation_steps");
    const bool tbs_fixed = tbs && !out_.is_auto("train_batch_size");
    const bool gas_fixed = gas && !out_.is_auto("gradient_accumulation_steps");
    take("train_micro_batch_size_per_gpu", micro,
         tbs_fixed && gas_fixed ? *tbs / (*gas * dp) : ctx_.per_device_train_batch_size);
    const bool micro_known = micro && !out_.is_auto("train_micro_batch_size_per_gpu");
    take("gradient_accumulation_steps", gas,
         tbs_fixed && micro_known && *micro > 0 ? *tbs / (*micro * dp) : ctx_.gradient_accumulation_steps);
    take("train_batch_size", tbs,
         dp * micro.value_or(ctx_.per_device_train_batch_size) * gas.value_or(ctx_.gradient_accumulation_steps));
    take("gradient_clipping", out_.gradient_clipping, ctx_.max_grad_norm);
  }

  void resolve_optimizer_keys() {
    auto& p = out_.optimizer.params;
    take("optimizer.params.lr", p.lr, ctx_.learning_rate);
    take("optimizer.params.betas", p.betas, std::array<double, 2>{ctx_.adam_beta1, ctx_.adam_beta2});
    take("optimizer.params.eps", p.eps, ctx_.adam_epsilon);
    take("optimizer.params.weight_decay", p.weight_decay, ctx_.weight_decay);
  }

  void resolve_scheduler_keys() {
    auto& p = out_.scheduler.params;
    take("scheduler.params.warmup_min_lr", p.warmup_min_lr, 0.0);
    take("scheduler.params.warmup_max_lr", p.warmup_max_lr, ctx_.learning_rate);
    take("scheduler.params.warmup_num_steps", p.warmup_num_steps, ctx_.warmup_steps);
    if (!out_.is_auto("scheduler.params.total_num_steps")) return;
    std::optional<std::int64_t> steps = ctx_.total_steps;
    if (!steps && out_.ds.steps > 0) steps = out_.ds.steps;
    if (!steps) {
      throw ConfigError(format_error(ctx_.source_name + ": scheduler.params.total_num_steps",
                                     "\"auto\" needs the run length", "", "a number of steps",
                                     "set ds.steps (or write the number here)"));
    }
    take("scheduler.params.total_num_steps", p.total_num_steps, *steps);
  }

  // HF: fp16.enabled = --fp16, bf16.enabled = --bf16. ds: the compute dtype decides.
  void resolve_precision_keys() {
    DType dtype = DType::kFp32;
    if (ctx_.dtype) dtype = *ctx_.dtype;
    else if (out_.ds.dtype) dtype = *out_.ds.dtype;
    else if (out_.bf16.enabled && !out_.is_auto("bf16.enabled")) dtype = DType::kBf16;
    else if (out_.fp16.enabled && !out_.is_auto("fp16.enabled")) dtype = DType::kFp16;
    take("fp16.enabled", out_.fp16.enabled, dtype == DType::kFp16);
    take("bf16.enabled", out_.bf16.enabled, dtype == DType::kBf16);
  }

  // HF trainer_config_finalize: reduce_bucket_size = hidden^2, stage3_prefetch_bucket_size =
  // int(0.9 hidden^2), stage3_param_persistence_threshold = 10 hidden.
  void resolve_zero_keys() {
    const char* keys[] = {"zero_optimization.reduce_bucket_size", "zero_optimization.stage3_prefetch_bucket_size",
                          "zero_optimization.stage3_param_persistence_threshold"};
    std::string waiting;
    for (const char* key : keys) {
      if (out_.is_auto(key)) waiting += (waiting.empty() ? "" : ", ") + std::string(key);
    }
    if (waiting.empty()) return;
    if (!ctx_.hidden_size) {
      throw ConfigError(format_error(ctx_.source_name + ": " + waiting, "\"auto\" needs the model's hidden size", "",
                                     "a model", "pass --model (a preset or a config.json), set ds.model, or write numbers"));
    }
    const std::int64_t h = *ctx_.hidden_size;
    auto& z = out_.zero_optimization;
    take(keys[0], z.reduce_bucket_size, h * h);
    take(keys[1], z.stage3_prefetch_bucket_size, static_cast<std::int64_t>(std::floor(0.9 * static_cast<double>(h * h))));
    take(keys[2], z.stage3_param_persistence_threshold, 10 * h);
  }

  Config out_;
  const AutoContext& ctx_;
  bool batch_was_auto_ = false;
};

std::optional<std::int64_t> hidden_size_in(const nlohmann::json& j) {
  for (const char* key : {"hidden_size", "n_embd", "d_model"}) {
    if (auto it = j.find(key); it != j.end() && it->is_number_integer()) return it->get<std::int64_t>();
  }
  if (auto it = j.find("hidden_sizes"); it != j.end() && it->is_array() && !it->empty()) {
    std::int64_t best = 0;
    for (const auto& v : *it) {
      if (v.is_number_integer()) best = std::max(best, v.get<std::int64_t>());
    }
    if (best > 0) return best;
  }
  if (auto it = j.find("text_config"); it != j.end() && it->is_object()) return hidden_size_in(*it);
  return std::nullopt;
}

}  // namespace

Config resolve_auto(const Config& config, const AutoContext& context) { return Resolver(config, context).run(); }

std::int64_t hidden_size_from_hf_config(const std::filesystem::path& config_json) {
  const std::string text = read_file(config_json);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false, true);
  if (j.is_discarded() || !j.is_object()) {
    throw ConfigError(format_error(config_json.string(), "not a JSON object", "", "a Hugging Face config.json"));
  }
  if (auto h = hidden_size_in(j); h && *h > 0) return *h;
  throw ConfigError(format_error(config_json.string(), "no hidden size", "", "\"hidden_size\", \"n_embd\", \"d_model\" or \"hidden_sizes\"",
                                 "write the \"auto\" values as numbers instead"));
}

}  // namespace ds::configs
