#include "engine/train/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/units.hpp"
#include "configs/config_io.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/param_states.hpp"
#include "engine/checkpoint/zero_fragments.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/data/sampler.hpp"
#include "engine/data/token_file.hpp"
#include "engine/io/hf_config_writer.hpp"
#include "engine/model/attention.hpp"
#include "engine/model/causal_lm.hpp"
#include "engine/model/init.hpp"
#include "engine/offload/host_tier.hpp"
#include "engine/offload/swap_file.hpp"
#include "engine/train/evaluate.hpp"
#include "engine/train/lr_schedules.hpp"
#include "engine/train/memory_tracker.hpp"
#include "engine/train/mixed_precision.hpp"
#include "engine/train/optimizer.hpp"
#include "engine/zero/zero_optimizer.hpp"
#include "estimators/flops.hpp"
#include "estimators/memory_estimate.hpp"
#include "estimators/param_count.hpp"
#include "estimators/plan_from_config.hpp"
#include "profiles/hardware_presets.hpp"

namespace ds::engine::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void synchronize(const torch::Device& device) {
#ifdef DS_TORCH_CUDA
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
#else
  (void)device;
#endif
}

// The estimator's tensor peak for the plan this run executes, on this rank: on the device, and
// in the offload tier (host memory).
struct PredictedPeaks {
  double device = 0, offload = 0, nvme = 0;
};
PredictedPeaks predict_peak(const TrainerOptions& o, int world) {
  estimators::Plan plan = estimators::as_run_by_ds(estimators::plan_from_config(o.config, o.model, world, "config"));
  plan.fused_attention = model::has_fused_attention();
  auto cluster = profiles::hardware_preset(o.device.is_cuda() ? "h100-80g" : "cpu-only");
  cluster.gpus_per_node = world;
  auto estimate = estimators::estimate_memory(o.model, estimators::count_params(o.model), cluster, plan);
  // Host and NVMe items are per node; this rank's share of them.
  const double ranks = std::max(1, estimate.ranks_per_node);
  return {estimators::tensor_peak_bytes(estimate),
          estimators::tensor_peak_bytes(estimate, estimators::Location::kCpu) / ranks,
          estimators::tensor_peak_bytes(estimate, estimators::Location::kNvme) / ranks};
}

// offload_param: ZeRO-3's parameter partitions in host memory (cpu) or in swap files under
// nvme_path (nvme). On one rank the ZeRO-3 optimizer runs with a partition of the whole model, as
// DeepSpeed does on one GPU: parameters are fetched block by block from the offload tier.
// (configs/validation.cpp has already refused it below stage 3.)
bool param_offload(const configs::Config& config) {
  return config.zero_optimization.offload_param.device != configs::OffloadDevice::kNone;
}

// offload_optimizer.ratio < 1 (validated as stage 3 only): some sub-groups stay on the device,
// which takes ZeRO-3's optimizer, over a group of one on one process as in DeepSpeed.
bool partial_optimizer_offload(const configs::Config& config) {
  const configs::OffloadOptimizerConfig& o = config.zero_optimization.offload_optimizer;
  return o.device != configs::OffloadDevice::kNone && o.ratio < 1.0;
}

// offload_param nvme: where and how the parameter chunks are swapped.
void apply_param_nvme(const configs::Config& config, int rank, const torch::Device& device, zero::ZeroOptions& zero) {
  const configs::OffloadParamConfig& p = config.zero_optimization.offload_param;
  if (p.device != configs::OffloadDevice::kNvme) return;
  offload::NvmeOptions nvme;
  nvme.nvme_path = p.nvme_path;
  nvme.key = "zero_optimization.offload_param.nvme_path";
  nvme.buffer_count = p.buffer_count;
  nvme.aio = config.aio;
  nvme.tag = "rank" + std::to_string(rank) + "-params";
  nvme.device = device;
  zero.param_nvme = nvme;
  zero.param_buffer_size = p.buffer_size;
}

// offload_optimizer: cpu puts the optimizer in host memory, nvme its Adam states in swap files
// under nvme_path too.
void apply_optimizer_offload(const configs::Config& config, int rank, const torch::Device& device,
                             MixedPrecisionOptions& mp) {
  const configs::ZeroConfig& z = config.zero_optimization;
  if (z.offload_optimizer.device == configs::OffloadDevice::kNone) return;
  mp.offload_optimizer = true;
  if (z.offload_optimizer.device != configs::OffloadDevice::kNvme) return;
  offload::NvmeOptions nvme;
  nvme.nvme_path = z.offload_optimizer.nvme_path;
  nvme.sub_group_size = z.sub_group_size;
  nvme.buffer_count = z.offload_optimizer.buffer_count;
  nvme.aio = config.aio;
  nvme.tag = "rank" + std::to_string(rank);
  nvme.device = device;
  mp.nvme = nvme;
}

// The model's parameters with the non-block ones first, then block by block, then the persistent
// ones, and the number of parameters in each of those groups (ZeRO-3's buckets). Persistent, as
// DeepSpeed marks them: in the model's parameter order, each of at most `threshold` elements
// while their total stays within `model_threshold` (stage3_param_persistence_threshold,
// stage3_model_persistence_threshold).
std::vector<NamedTensor> zero3_order(model::CausalLM& lm, std::int64_t threshold, std::int64_t model_threshold,
                                     std::vector<std::size_t>& group_sizes) {
  std::map<const void*, std::size_t> block_of;
  const std::size_t blocks = lm.decoder->blocks->size();
  for (std::size_t i = 0; i < blocks; ++i) {
    for (const auto& p : lm.decoder->blocks->ptr(i)->parameters()) block_of[p.unsafeGetTensorImpl()] = i + 1;
  }
  std::vector<std::vector<NamedTensor>> groups(blocks + 2);
  std::int64_t persistent = 0;
  for (const auto& [name, tensor] : trainable_unique([&] {
         std::vector<NamedTensor> all;
         for (const auto& item : lm.named_parameters()) all.emplace_back(item.key(), item.value());
         return all;
       }())) {
    const std::int64_t n = tensor.numel();
    if (n <= threshold && persistent + n <= model_threshold) {
      persistent += n;
      groups.back().emplace_back(name, tensor);
      continue;
    }
    auto it = block_of.find(tensor.unsafeGetTensorImpl());
    groups[it == block_of.end() ? 0 : it->second].emplace_back(name, tensor);
  }
  std::vector<NamedTensor> ordered;
  group_sizes.clear();
  for (auto& g : groups) {
    group_sizes.push_back(g.size());
    ordered.insert(ordered.end(), g.begin(), g.end());
  }
  return ordered;
}

}  // namespace

nlohmann::ordered_json to_json(const StepMetrics& m) {
  nlohmann::ordered_json j;
  j["step"] = m.step;
  j["loss"] = std::isfinite(m.loss) ? nlohmann::ordered_json(m.loss) : nlohmann::ordered_json(nullptr);
  j["lr"] = m.lr;
  j["grad_norm"] = std::isfinite(m.grad_norm) ? nlohmann::ordered_json(m.grad_norm) : nlohmann::ordered_json(nullptr);
  j["loss_scale"] = m.loss_scale;
  j["skipped"] = m.skipped;
  if (!m.event.empty()) j["event"] = m.event;
  j["tokens"] = m.tokens;
  j["total_tokens"] = m.total_tokens;
  j["step_time_s"] = m.step_time_s;
  j["tokens_per_s"] = m.tokens_per_s;
  j["mfu"] = m.mfu;
  j["peak_bytes"] = m.peak_bytes;
  if (m.eval_loss) {
    j["eval_loss"] = *m.eval_loss;
    j["eval_ppl"] = std::exp(*m.eval_loss);
  }
  return j;
}

struct Trainer::State {
  TrainerOptions options;
  int rank = 0;
  int world = 1;
  std::shared_ptr<model::CausalLM> model;
  std::unique_ptr<MixedPrecisionOptimizer> optimizer;  ///< one rank, or stage 0 (all-reduced gradients)
  std::unique_ptr<zero::ZeroOptimizer> zero;            ///< stages 1-3 on several ranks, or with offload_param
  std::unique_ptr<comm::Communicator> local_comm;       ///< a group of one for ZeRO-3 with offload_param or partial offload
  std::unique_ptr<LRSchedule> schedule;
  std::optional<data::TokenFile> file;
  std::optional<data::WindowSampler> sampler;
  std::optional<data::TokenFile> eval_file;
  std::int64_t step = 0;
  std::int64_t total_tokens = 0;
  std::string resumed_from;
  double flops_per_token = 0;
  double predicted_peak = 0;
  double predicted_offload = 0;  ///< the estimator's CPU (offload tier) bytes, this rank
  double predicted_nvme = 0;     ///< the estimator's NVMe bytes, this rank
  std::optional<MemoryCategories> memory;
  std::int64_t run_peak = 0;
  bool step_measured = false;
  std::ofstream log;

  bool is_rank0() const { return rank == 0; }
  // One of the two optimizers is set; the step path does not care which.
  void set_betas(double beta1, double beta2) {
    if (zero) zero->set_betas(beta1, beta2);
    else optimizer->optimizer().set_betas(beta1, beta2);
  }
  LossScaler& loss_scaler() { return zero ? zero->loss_scaler() : optimizer->loss_scaler(); }
  Precision precision() const { return zero ? zero->precision() : optimizer->precision(); }
  double loss_scale() const { return zero ? zero->loss_scale() : optimizer->loss_scale(); }
  void accumulate_grads() { zero ? zero->accumulate_grads() : optimizer->accumulate_grads(); }
  StepResult optimizer_step(double lr) { return zero ? zero->step(lr) : optimizer->step(lr); }
  void open_log();
  void resume();
  std::int64_t tokens_per_step() const {
    return options.micro_batch * options.grad_accum * options.seq_len * world;
  }
};

void Trainer::State::open_log() {
  if (!is_rank0()) return;
  std::filesystem::path path = options.json_log.empty() ? options.run_dir / "metrics.jsonl" : options.json_log;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  log.open(path, std::ios::app);
  if (!log) {
    throw UsageError(format_error(path.string(), "cannot open the metrics log for writing", "",
                                  "check the directory exists and is writable, or pass --json-log FILE"));
  }
}

void Trainer::State::resume() {
  auto tag = checkpoint::latest_tag(options.run_dir);
  if (!options.resume || !tag) return;
  checkpoint::CheckpointState ckpt = checkpoint::load_checkpoint(options.run_dir, {});
  const std::filesystem::path tag_dir = options.run_dir / ckpt.metadata.tag;
  const std::string where = tag_dir.string();
  // Whatever world size and stage saved it: optimizer states are read per parameter by name.
  checkpoint::ParamStates states = checkpoint::ParamStates::open(tag_dir, ckpt);
  std::map<std::string, torch::Tensor> model_tensors(ckpt.model.begin(), ckpt.model.end());
  if (zero) {
    auto read = [&](const std::string& kind, const std::string& param, std::int64_t offset, torch::Tensor dest) {
      if (kind == "master" && !states.has("master")) {
        // An fp32 run without ZeRO keeps no separate master: its weights are the master.
        auto it = model_tensors.find(param);
        if (it == model_tensors.end()) throw RuntimeError(format_error(where, "missing parameter '" + param + "'"));
        dest.copy_(it->second.reshape({-1}).narrow(0, offset, dest.numel()));
        return;
      }
      states.read(kind, param, offset, dest);
    };
    auto has = [&](const std::string& kind) { return kind == "master" || states.has(kind); };
    zero->load_state(ckpt.optimizer_meta, read, has, where);
  } else {
    optimizer->load_model_state(model_tensors, where);
    if (states.zero()) {
      optimizer->load_optimizer_state(ckpt.optimizer_meta, states, where);
    } else {
      std::map<std::string, torch::Tensor> optimizer_tensors(ckpt.optimizer.begin(), ckpt.optimizer.end());
      optimizer->load_optimizer_state(ckpt.optimizer_meta, optimizer_tensors, where);
    }
  }
  loss_scaler().load_state_dict(ckpt.loss_scaler);
  schedule->load_state_dict(ckpt.scheduler);
  sampler->restore(data::parse_sampler_state(ckpt.sampler.dump(), where));
  // Every rank restores rank 0's generators: the run continues as it would have.
  checkpoint::restore_torch_rng(ckpt.rng);
  step = ckpt.metadata.step;
  total_tokens = ckpt.metadata.tokens;
  resumed_from = ckpt.metadata.tag;
}

Trainer::Trainer(TrainerOptions options) : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.options = std::move(options);
  TrainerOptions& o = s.options;
  if (o.comm != nullptr) {
    s.rank = o.comm->rank();
    s.world = o.comm->world_size();
  }
  if (o.steps <= 0) {
    throw ConfigError(format_error("ds.steps", "the number of optimizer steps must be > 0", std::to_string(o.steps),
                                   "set ds.steps in the config or pass --steps N"));
  }
  if (o.seq_len <= 0 || o.micro_batch <= 0 || o.grad_accum <= 0) {
    throw ConfigError(format_error("batch", "seq_len, micro-batch and gradient accumulation must be > 0"));
  }
  if (o.device.is_cpu() && configs::compute_dtype(o.config) == configs::DType::kFp16) {
    // LibTorch's CPU kernels have no fp16 matrix multiply (addmm refuses Half on the CPU).
    throw ConfigError(format_error(o.config.ds.dtype ? "ds.dtype" : "fp16.enabled", "fp16 training needs a CUDA device",
                                   "fp16 on " + o.device.str(), "bf16 on CPU (bf16.enabled or --dtype bf16), or fp16 on a GPU"));
  }
  if (o.device.is_cpu()) MemoryTracker::install();
  MemoryTracker::reset_peak(o.device);
  // The offload tier's peak is this run's too (another trainer in the process may have gone before).
  offload::HostTier::reset_peak();
  s.memory.emplace(o.device);

  // Data first: a bad file should fail before minutes of model building.
  data::TokenFileOptions file_options;
  file_options.check_vocab_size = o.model.vocab;
  s.file = data::TokenFile::open(o.data, file_options);
  data::SamplerOptions sampler_options;
  sampler_options.seq_len = o.seq_len;
  sampler_options.micro_batch = o.micro_batch;
  sampler_options.seed = static_cast<std::uint64_t>(o.config.ds.seed);
  sampler_options.rank = s.rank;
  sampler_options.world_size = s.world;
  s.sampler.emplace(*s.file, sampler_options);
  // ZeRO-3 fetches parameters with collectives, so every rank runs the evaluation with rank 0.
  const bool all_ranks_evaluate = s.world > 1 && o.config.zero_optimization.stage == 3;
  if (o.eval_every > 0 && !o.eval_data.empty() && (s.rank == 0 || all_ranks_evaluate)) {
    data::TokenFileOptions eval_options;
    eval_options.check_vocab_size = o.model.vocab;
    s.eval_file = data::TokenFile::open(o.eval_data, eval_options);
  }

  MixedPrecisionOptions mp;
  mp.precision = precision_of(configs::compute_dtype(o.config));
  mp.gradient_clipping = o.config.gradient_clipping;
  mp.fp16 = o.config.fp16;
  apply_optimizer_offload(o.config, s.rank, o.device, mp);
  const bool offload_param = param_offload(o.config);
  const bool zero3_alone = offload_param || partial_optimizer_offload(o.config);
  const int stage = o.config.zero_optimization.stage;
  const bool zero_sharded = (s.world > 1 || zero3_alone) && stage >= 1;

  torch::manual_seed(static_cast<std::uint64_t>(o.config.ds.seed));
  model::ModelOptions model_options;
  model_options.seed = static_cast<std::uint64_t>(o.config.ds.seed);
  model_options.device = o.device;
  model_options.checkpointing = o.config.ds.activation_checkpointing;
  if (zero_sharded && stage == 3) {
    // Partitioned construction (DeepSpeed's zero.Init): the model is built of placeholders in
    // the model dtype and each rank keeps only its pieces of the initial values.
    model_options.placeholders = true;
    model_options.dtype = scalar_type_of(mp.precision);
  }
  s.model = model::build_model(o.model, model_options);
  s.model->train();
  s.memory->record("params");

  ParamGroupSpec group;
  for (const auto& item : s.model->named_parameters()) group.params.emplace_back(item.key(), item.value());
  if (zero3_alone && o.comm == nullptr) {
    // One process: the ZeRO optimizer's collectives over a group of one are local copies.
    comm::CommOptions local;
    local.device = o.device;
    s.local_comm = std::make_unique<comm::Communicator>(local);
    o.comm = s.local_comm.get();
  }
  if (zero_sharded) {
    zero::ZeroOptions zero_options;
    zero_options.stage = stage;
    if (stage == 3) {
      // One bucket per transformer block, fetched just before the block runs; the rest (embeddings,
      // final norm, lm_head) is one bucket first, and the persistent parameters (small tensors)
      // one bucket last, kept gathered. Backward recomputes each block with its parameters
      // fetched again, so activation checkpointing is implied.
      const configs::ZeroConfig& z = o.config.zero_optimization;
      group.params = zero3_order(*s.model, z.stage3_param_persistence_threshold, z.stage3_model_persistence_threshold,
                                 zero_options.bucket_slots);
      zero_options.persistent_bucket = true;
      if (!s.model->checkpoints_block(0) || o.config.ds.activation_checkpointing.kind != configs::CheckpointPolicy::Kind::kFull) {
        log::info("ZeRO-3: every block recomputes its activations in backward (activation checkpointing 'full')");
      }
      s.model->set_checkpointing({configs::CheckpointPolicy::Kind::kFull, 0});
    }
    zero_options.reduce_bucket_size = o.config.zero_optimization.reduce_bucket_size;
    zero_options.overlap_comm = o.config.zero_optimization.overlap_comm_effective();
    zero_options.offload_optimizer = mp.offload_optimizer;
    zero_options.nvme = mp.nvme;
    zero_options.prefetch_bucket_size = o.config.zero_optimization.stage3_prefetch_bucket_size;
    zero_options.max_live_parameters = o.config.zero_optimization.stage3_max_live_parameters;
    zero_options.offload_ratio = o.config.zero_optimization.offload_optimizer.ratio;
    zero_options.sub_group_size = o.config.zero_optimization.sub_group_size;
    zero_options.offload_param = offload_param;
    apply_param_nvme(o.config, s.rank, o.device, zero_options);
    if (model_options.placeholders) {
      zero_options.initial_values = [model = s.model.get(), seed = model_options.seed](const model::InitialValueFn& fn) {
        model::initial_values(*model, seed, fn);
      };
    }
    s.zero = std::make_unique<zero::ZeroOptimizer>(group.params, optimizer_options(o.config.optimizer), mp, *o.comm,
                                                   zero_options);
    if (stage == 3) s.model->set_block_hooks(s.zero.get());
  } else {
    if (stage > 0 && s.world == 1) log::debug("ZeRO stage ", stage, " with one rank: nothing to partition");
    s.optimizer = std::make_unique<MixedPrecisionOptimizer>(std::vector<ParamGroupSpec>{group},
                                                            optimizer_options(o.config.optimizer), mp);
  }
  // The flat buffers: gradients, the fp32 master (bf16/fp16) and the optimizer's states.
  s.memory->record("grads_master_optimizer_states");
  if (s.world > 1 && s.optimizer) {
    comm::Communicator* comm = o.comm;
    const double inv_world = 1.0 / s.world;
    s.optimizer->set_grad_reducer([comm, inv_world](const std::vector<torch::Tensor>& grads) {
      for (torch::Tensor g : grads) {
        comm->all_reduce(g);
        g.mul_(inv_world);
      }
    });
  }
  s.schedule = make_lr_schedule(o.config.scheduler, o.config.optimizer.params.lr);

  auto count = estimators::count_params(o.model);
  s.flops_per_token = estimators::training_flops(o.model, count, o.seq_len).per_token();
  PredictedPeaks predicted = predict_peak(o, s.world);
  s.predicted_peak = predicted.device;
  s.predicted_offload = predicted.offload;
  s.predicted_nvme = predicted.nvme;
  s.resume();
  if (s.is_rank0()) {
    std::filesystem::create_directories(o.run_dir);
    configs::WriteOptions all;
    all.all_keys = true;
    configs::save_config(o.config, o.run_dir / "ds_config.json", all);
  }
  s.open_log();
}

Trainer::~Trainer() = default;

StepMetrics Trainer::train_step() {
  State& s = *s_;
  TrainerOptions& o = s.options;
  synchronize(o.device);
  MemoryTracker::reset_peak(o.device);
  auto start = Clock::now();

  StepMetrics m;
  m.lr = s.schedule->lr();
  if (auto betas = s.schedule->betas()) {
    s.set_betas(betas->first, betas->second);
  }
  const double scale = s.loss_scale() / static_cast<double>(o.grad_accum);
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(o.device));
  for (std::int64_t micro = 0; micro < o.grad_accum; ++micro) {
    data::Batch batch = s.sampler->next();
    torch::Tensor input = batch.input.to(o.device, /*non_blocking=*/true);
    torch::Tensor target = batch.target.to(o.device, /*non_blocking=*/true);
    torch::Tensor loss = model::next_token_loss(s.model->forward(input), target);
    (loss * scale).backward();
    s.accumulate_grads();
    loss_sum += loss.detach().to(torch::kFloat64);
  }
  if (s.world > 1) o.comm->all_reduce(loss_sum);
  StepResult result = s.optimizer_step(m.lr);
  if (!result.skipped) s.schedule->step();
  synchronize(o.device);

  ++s.step;
  s.total_tokens += s.tokens_per_step();
  m.step = s.step;
  m.loss = loss_sum.item<double>() / static_cast<double>(o.grad_accum * s.world);
  m.grad_norm = result.grad_norm;
  m.loss_scale = result.loss_scale;
  m.skipped = result.skipped;
  m.event = result.message;
  m.tokens = s.tokens_per_step();
  m.total_tokens = s.total_tokens;
  m.step_time_s = seconds_since(start);
  m.tokens_per_s = m.step_time_s > 0 ? static_cast<double>(m.tokens) / m.step_time_s : 0;
  m.mfu = estimators::model_flops_utilization(m.tokens_per_s / s.world, s.flops_per_token, o.peak_flops_per_s);
  m.peak_bytes = MemoryTracker::peak_bytes(o.device);
  if (!s.step_measured) {
    // Activations, logits and the step's temporaries: what rises above the states while a step runs.
    s.memory->record_peak("step_transients");
    s.step_measured = true;
  }
  s.run_peak = std::max(s.run_peak, m.peak_bytes);
  if (s.eval_file && (s.step % o.eval_every == 0 || s.step == o.steps)) m.eval_loss = evaluate();
  if (s.log.is_open()) {
    s.log << to_json(m).dump() << '\n';
    s.log.flush();
  }
  return m;
}

double Trainer::evaluate() {
  State& s = *s_;
  if (!s.eval_file) {
    throw UsageError(format_error("ds.eval_data", "no evaluation data on this rank", "",
                                  "set ds.eval_data (and ds.eval_every); rank 0 evaluates"));
  }
  EvalOptions options;
  options.seq = s.options.seq_len;
  options.batch = s.options.micro_batch;
  options.max_windows = s.options.eval_max_windows;
  s.model->eval();
  EvalResult result = train::evaluate(*s.model, *s.eval_file, options);
  s.model->train();
  return result.mean_loss;
}

std::filesystem::path Trainer::save() {
  State& s = *s_;
  TrainerOptions& o = s.options;
  const std::string tag = checkpoint::checkpoint_tag(s.step);
  checkpoint::SaveOptions save_options;
  save_options.tag = tag;
  save_options.keep_last = o.keep_checkpoints;
  if (s.zero) {
    // Every rank writes its own shard into rank 0's temporary directory; rank 0 then adds the
    // shared pieces and installs it (checkpoint.hpp, "Multi-rank saves").
    torch::Tensor owner = torch::zeros({1}, torch::kLong);
    if (s.is_rank0()) {
      save_options.prepared_dir = checkpoint::prepare_shared_save(o.run_dir, tag);
      owner[0] = static_cast<std::int64_t>(::getpid());
    }
    o.comm->broadcast(owner, 0);
    auto shard = checkpoint::shared_temp_dir(o.run_dir, tag, owner.item<std::int64_t>()) /
                 checkpoint::zero_shard_file_name(s.rank);
    checkpoint::write_fragment_shard(shard, s.rank, s.world, s.zero->stage(), s.zero->state_fragments());
    o.comm->barrier();
  }
  // ZeRO-3 gathers the weights bucket by bucket: every rank takes part, rank 0 alone keeps them.
  std::vector<NamedTensor> weights;
  if (s.zero) weights = s.zero->model_state(s.is_rank0());
  if (s.is_rank0()) {
    checkpoint::CheckpointState ckpt;
    if (s.zero) {
      ckpt.model = std::move(weights);
      ckpt.optimizer_meta = s.zero->optimizer_state_meta();
    } else {
      ckpt.model = s.optimizer->model_state();
      ckpt.optimizer = s.optimizer->optimizer_state_tensors();
      ckpt.optimizer_meta = s.optimizer->optimizer_state_meta();
    }
    ckpt.loss_scaler = s.loss_scaler().state_dict();
    ckpt.metadata.precision = to_string(s.precision());
    ckpt.scheduler = s.schedule->state_dict();
    ckpt.sampler = nlohmann::json::parse(data::sampler_state_json(s.sampler->state()));
    ckpt.rng = checkpoint::capture_torch_rng();
    ckpt.config_json = configs::to_json(o.config);
    ckpt.model_config = io::hf_config_json(o.model);
    ckpt.metadata.step = s.step;
    ckpt.metadata.tokens = s.total_tokens;
    ckpt.metadata.world_size = s.world;
    ckpt.metadata.zero_stage = o.config.zero_optimization.stage;
    checkpoint::save_checkpoint(o.run_dir, ckpt, save_options);
  }
  // `latest` must name a complete checkpoint before any rank moves on (and maybe dies).
  if (s.world > 1) o.comm->barrier();
  return o.run_dir / tag;
}

TrainSummary Trainer::run(const std::function<void(const StepMetrics&)>& on_step) {
  State& s = *s_;
  TrainerOptions& o = s.options;
  TrainSummary summary;
  summary.first_step = s.step;
  double timed_s = 0;
  std::int64_t timed_steps = 0;
  while (s.step < o.steps) {
    StepMetrics m = train_step();
    if (m.step > summary.first_step + 1 || o.steps - summary.first_step == 1) {
      timed_s += m.step_time_s;
      ++timed_steps;
    }
    summary.final_loss = m.loss;
    if (m.eval_loss) summary.final_eval_loss = m.eval_loss;
    summary.skipped_steps += m.skipped ? 1 : 0;
    if (on_step) on_step(m);
    bool last = s.step == o.steps;
    if ((o.save_every > 0 && s.step % o.save_every == 0 && !last) || (last && o.save_at_end)) {
      summary.checkpoint = save();
    }
  }
  summary.last_step = s.step;
  if (timed_steps > 0) {
    summary.mean_step_time_s = timed_s / static_cast<double>(timed_steps);
    summary.tokens_per_s = static_cast<double>(s.tokens_per_step()) / summary.mean_step_time_s;
    summary.mfu = estimators::model_flops_utilization(summary.tokens_per_s / s.world, s.flops_per_token,
                                                      o.peak_flops_per_s);
  }
  summary.peak_bytes = s.run_peak;
  summary.predicted_peak_bytes = s.predicted_peak;
  summary.memory = memory_categories();
  summary.offload_bytes = offload::HostTier::peak_bytes();
  summary.predicted_offload_bytes = s.predicted_offload;
  summary.nvme_bytes = offload::SwapFile::peak_bytes();
  summary.predicted_nvme_bytes = s.predicted_nvme;
  return summary;
}

std::int64_t Trainer::global_step() const { return s_->step; }
const std::string& Trainer::resumed_from() const { return s_->resumed_from; }
double Trainer::predicted_peak_bytes() const { return s_->predicted_peak; }
nlohmann::ordered_json Trainer::memory_categories() const {
  nlohmann::ordered_json j = s_->memory->to_json();
  j["peak"] = s_->run_peak;
  const configs::ZeroConfig& z = s_->options.config.zero_optimization;
  if (z.offload_optimizer.device != configs::OffloadDevice::kNone || z.offload_param.device != configs::OffloadDevice::kNone) {
    j["offload_cpu_peak"] = offload::HostTier::peak_bytes();
    if (offload::SwapFile::peak_bytes() > 0) j["offload_nvme_peak"] = offload::SwapFile::peak_bytes();
  }
  return j;
}
model::CausalLM& Trainer::model() { return *s_->model; }
const TrainerOptions& Trainer::options() const { return s_->options; }

}  // namespace ds::engine::train
