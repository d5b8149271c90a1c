#include "engine/train/train_setup.hpp"

#include "common/error.hpp"
#include "common/log.hpp"
#include "configs/auto_resolve.hpp"
#include "configs/batch.hpp"
#include "configs/config_io.hpp"
#include "profiles/machine_info.hpp"
#include "profiles/profile_facts.hpp"
#include "profiles/profile_store.hpp"
#include "profiles/store.hpp"

namespace ds::engine::train {
namespace {

// ds train runs data parallelism (ZeRO 0-3) only; a layout it would silently run as data
// parallelism is refused, naming the key.
void require_data_parallel_layout(const configs::Config& config, const std::string& source) {
  const auto& tp = config.tensor_parallel;
  const struct {
    const char* key;
    int degree;
  } degrees[] = {{tp.autotp_size > 0 ? "tensor_parallel.autotp_size" : "tensor_parallel.tp.tp_size",
                  tp.autotp_size > 0 ? tp.autotp_size : tp.tp_size},
                 {"pipeline.stages", config.pipeline.stages.value_or(1)},
                 {"sequence_parallel_size", config.sequence_parallel_size}};
  for (const auto& d : degrees) {
    if (d.degree > 1) {
      throw ConfigError(format_error(source + ": " + d.key, "ds train runs data parallelism only (ZeRO 0-3)",
                                     std::to_string(d.degree), "1",
                                     "run this config with DeepSpeed, or tune for ds train with --max-tp 1 --max-pp 1 "
                                     "--max-sp 1"));
    }
  }
}

}  // namespace

configs::Config resolve_train_config(const TrainSetup& setup, const estimators::ModelSpec& model,
                                     configs::Config config) {
  const std::string source = setup.config_path.empty() ? "command line" : setup.config_path.string();
  require_data_parallel_layout(config, source);
  if (!config.is_set("train_batch_size") && !config.is_set("train_micro_batch_size_per_gpu") &&
      !config.is_set("gradient_accumulation_steps")) {
    log::info("no batch size in the config: train_micro_batch_size_per_gpu = ", kDefaultMicroBatch,
              " (set it, or pass --micro-batch)");
    config = configs::apply_overrides(
        config, {{"train_micro_batch_size_per_gpu", std::to_string(kDefaultMicroBatch)}}, source);
  }
  configs::AutoContext context;
  context.hidden_size = model.hidden;
  context.dp_size = setup.world_size;
  context.source_name = source;
  if (config.ds.steps > 0) context.total_steps = config.ds.steps;
  config = configs::resolve_auto(config, context);
  return configs::with_resolved_batch(config, setup.world_size, source);
}

torch::Device parse_train_device(const std::string& name, int local_rank) {
  bool cuda = torch::cuda::is_available();
  if (name.empty()) return cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank)) : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!cuda) {
      throw UsageError(format_error("--device", "CUDA is not available here", name,
                                    "--device cpu, or a CUDA build of ds on a machine with a GPU (ds env tells)"));
    }
    if (name == "cuda") return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
    return torch::Device(name);
  }
  throw UsageError(format_error("--device", "unknown device", name, "cpu, cuda or cuda:N"));
}

double measured_peak_flops(const std::filesystem::path& db_path, configs::DType dtype) {
  if (db_path.empty() || !std::filesystem::exists(db_path)) return 0;
  try {
    profiles::Store store(db_path);
    auto facts = profiles::facts_from_profile(
        profiles::load_profile(store, "latest", profiles::read_machine_info().fingerprint()));
    switch (dtype) {
      case configs::DType::kBf16: return facts.rates.gemm_flops_per_s.bf16;
      case configs::DType::kFp16: return facts.rates.gemm_flops_per_s.fp16;
      default: return facts.rates.gemm_flops_per_s.fp32;
    }
  } catch (const Error& e) {
    // No profile of this machine yet: MFU is then reported as unknown, not guessed.
    log::debug("no measured GEMM peak for MFU: ", e.what());
    return 0;
  }
}

TrainerOptions make_trainer_options(const TrainSetup& setup) {
  configs::Config config = setup.config_path.empty() ? configs::Config{} : configs::load_config(setup.config_path);
  const std::string source = setup.config_path.empty() ? "command line" : setup.config_path.string();
  config = configs::apply_overrides(config, setup.overrides, source);

  TrainerOptions o;
  o.model_name = config.ds.model.empty() ? kDefaultTrainModel : config.ds.model;
  o.model = estimators::load_model_spec(o.model_name, "ds.model");
  config = resolve_train_config(setup, o.model, std::move(config));

  if (config.ds.data.empty()) {
    throw ConfigError(format_error(source + ": ds.data", "no training data given", "",
                                   "make a token file with `ds data prepare --input FILE --out data/train.bin`, "
                                   "then pass --data data/train.bin"));
  }
  o.data = config.ds.data;
  o.steps = config.ds.steps;
  if (o.steps <= 0) {
    throw ConfigError(format_error(source + ": ds.steps", "the number of optimizer steps is not set",
                                   std::to_string(o.steps), "set ds.steps or pass --steps N"));
  }
  o.seq_len = config.ds.seq_len > 0 ? config.ds.seq_len : o.model.max_seq;
  if (o.model.position == estimators::PositionEncoding::kLearned && o.seq_len > o.model.max_seq) {
    throw ConfigError(format_error(source + ": ds.seq_len", "longer than the model's learned positions",
                                   std::to_string(o.seq_len), "at most " + std::to_string(o.model.max_seq)));
  }
  o.micro_batch = *config.train_micro_batch_size_per_gpu;
  o.grad_accum = *config.gradient_accumulation_steps;
  o.run_dir = config.ds.run_dir;
  o.resume = config.ds.resume;
  o.save_every = config.ds.save_every;
  o.eval_data = config.ds.eval_data;
  o.eval_every = config.ds.eval_every;
  if (o.eval_every > 0 && o.eval_data.empty()) {
    throw ConfigError(format_error(source + ": ds.eval_every", "evaluation needs a token file", std::to_string(o.eval_every),
                                   "set ds.eval_data (e.g. the .val.bin `ds data prepare` writes) or --eval-data"));
  }
  o.keep_checkpoints = config.ds.keep_checkpoints;
  o.device = parse_train_device(setup.device, setup.local_rank);
  o.peak_flops_per_s = measured_peak_flops(setup.db_path, configs::compute_dtype(config));
  o.config = std::move(config);
  return o;
}

}  // namespace ds::engine::train
