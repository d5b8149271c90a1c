#include "engine/zero/zero_optimizer.hpp"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <cmath>

#include "common/error.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/offload/host_tier.hpp"
#include "estimators/ds_zero_memory.hpp"

namespace ds::engine::zero {

namespace {

ZeroLayout make_layout(const std::vector<train::NamedTensor>& params, int world, const ZeroOptions& zero) {
  train::FlatLayout flat(train::trainable_unique(params));
  if (!zero.bucket_slots.empty()) return ZeroLayout(flat, world, zero.bucket_slots);
  return ZeroLayout(flat, world, zero.reduce_bucket_size);
}

}  // namespace

/// Runs after autograd has put a parameter's gradient into .grad (AccumulateGrad's post hook,
/// as DeepSpeed hooks grad_acc): the moment to move it into its bucket and free it.
struct ZeroOptimizer::GradHook : torch::autograd::FunctionPostHook {
  GradHook(ZeroOptimizer* owner, std::size_t slot) : owner(owner), slot(slot) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    owner->on_gradient(slot);
    return outputs;
  }
  ZeroOptimizer* owner;
  std::size_t slot;
};

ZeroOptimizer::ZeroOptimizer(const std::vector<train::NamedTensor>& params, const train::OptimizerOptions& optimizer,
                             const train::MixedPrecisionOptions& options, comm::Communicator& comm,
                             const ZeroOptions& zero)
    : options_(options),
      zero_(zero),
      comm_(comm),
      rank_(comm.rank()),
      optimizer_(optimizer),
      scaler_(train::loss_scaler_config(options)),
      layout_(make_layout(params, comm.world_size(), zero)) {
  if (zero_.stage < 1 || zero_.stage > 3) {
    throw UsageError(format_error("zero_optimization.stage", "this optimizer partitions stages 1 to 3",
                                  std::to_string(zero_.stage)));
  }
  if (options_.gradient_clipping < 0 || !std::isfinite(options_.gradient_clipping)) {
    throw ConfigError(format_error("gradient_clipping", "must be >= 0 (0 turns clipping off)",
                                   std::to_string(options_.gradient_clipping)));
  }
  torch::NoGradGuard no_grad;
  std::vector<train::NamedTensor> taken = train::trainable_unique(params);
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, t] : taken) tensors.push_back(t);
  const torch::Device device = tensors.front().device();
  device_ = device;
  const std::int64_t numel = layout_.partition_numel();
  std::int64_t on_device = zero_.offload_optimizer ? 0 : numel;
  if (zero_.offload_optimizer && zero_.offload_ratio < 1.0) {
    if (zero_.stage != 3) {
      throw ConfigError(format_error("zero_optimization.offload_optimizer.ratio", "partial offload needs ZeRO stage 3",
                                     std::to_string(zero_.offload_ratio), "1 below stage 3"));
    }
    on_device = estimators::ds_partial_offload_on_device(numel, zero_.offload_ratio, zero_.sub_group_size);
    // Every sub-group kept: nothing is offloaded after all.
    if (on_device == numel) {
      zero_.offload_optimizer = false;
      zero_.nvme.reset();
    }
  }
  if (zero_.offload_optimizer) train::offload_to_host(optimizer_, device, zero_.nvme);
  if (zero_.offload_optimizer && on_device > 0) device_optimizer_ = std::make_unique<train::Optimizer>(optimizer);
  master_ = TieredPartition(numel, on_device, device);
  fill_master(tensors);
  if (zero_.stage == 3) {
    params_ = tensors;
    const torch::ScalarType dtype = train::scalar_type_of(options_.precision);
    param_options_ = torch::TensorOptions().dtype(dtype).device(device_);
    if (zero_.param_nvme) {
      std::vector<std::int64_t> chunks;
      for (const ZeroBucket& bucket : layout_.buckets()) chunks.push_back(bucket.chunk);
      swapped_params_ = std::make_unique<offload::SwappedParams>(*zero_.param_nvme, zero_.param_buffer_size, chunks, dtype);
      store_owned();
    } else if (zero_.offload_param) {
      owned16_ = offload::HostTier::zeros(layout_.partition_numel(), device_, 64, dtype);
      master_.copy_into(0, owned16_);
    } else {
      // Offloaded, the device keeps a chunk of its own even in fp32 (the master is in host memory);
      // not offloaded, an fp32 chunk is the master itself.
      owned16_ = master_.whole().to(device_, dtype, false, /*copy=*/zero_.offload_optimizer);
    }
    gathered_.resize(layout_.buckets().size());
    // The model dtype first: set_data with another dtype makes autograd forget a leaf's gradient
    // accumulator, and the hooks below go on the accumulators for good.
    for (torch::Tensor& p : params_) p.set_data(p.detach().to(param_options_.dtype()));
  } else {
    flat_ = std::make_unique<train::FlatParams>(taken, train::scalar_type_of(options_.precision),
                                                /*grad_buffer=*/zero_.stage == 1);
    params_ = flat_->params();
  }
  grad32_ = TieredPartition(numel, on_device, device);
  optimizer_.add_group(main_part(master_));
  if (device_optimizer_) device_optimizer_->add_group(master_.device_part());
  staging_.resize(layout_.buckets().size());
  arrived_.assign(layout_.buckets().size(), 0);
  if (zero_.stage >= 2) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      auto accumulator = torch::autograd::impl::grad_accumulator(params_[i]);
      hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<GradHook>(this, i)));
      accumulators_.push_back(std::move(accumulator));
    }
  }
  if (zero_.stage == 3) {
    std::size_t bucket = 0;
    for (std::size_t count : zero_.bucket_slots) group_bucket_.push_back(count == 0 ? -1 : static_cast<std::int64_t>(bucket++));
    if (zero_.persistent_bucket && !group_bucket_.empty()) persistent_ = group_bucket_.back();
    // Only now, after the gradient accumulators exist (autograd records a leaf's shape when it
    // makes its accumulator), are the whole parameters dropped: a rank keeps just its chunks.
    for (torch::Tensor& p : params_) p.set_data(torch::empty({0}, param_options_));
    gather_persistent();
  }
}

void ZeroOptimizer::fill_master(const std::vector<torch::Tensor>& tensors) {
  if (!zero_.initial_values) {
    // The master keeps the full-precision values, taken before the model's are rounded; only
    // this rank's chunks are kept.
    torch::Tensor whole = layout_.flat().pack(tensors, torch::kFloat, device_);
    for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
      auto [first, last] = layout_.owned_range(b, rank_);
      master_.write(layout_.buckets()[b].partition_offset, whole.narrow(0, first, last - first));
    }
    return;
  }
  if (zero_.stage != 3) {
    throw UsageError("zero: partitioned construction (initial values one tensor at a time) is for stage 3 only");
  }
  std::map<std::string, std::vector<OwnedPiece>> mine;
  for (const OwnedPiece& p : layout_.pieces(rank_)) mine[layout_.flat().slots()[p.slot].name].push_back(p);
  zero_.initial_values([&](const std::string& name, const torch::Tensor& value) {
    auto it = mine.find(name);
    if (it == mine.end()) return;  // none of it is this rank's
    const torch::Tensor flat = value.reshape({-1});
    for (const OwnedPiece& p : it->second) master_.write(p.partition_offset, flat.narrow(0, p.param_offset, p.length));
  });
}

ZeroOptimizer::~ZeroOptimizer() {
  for (Pending& p : pending_) p.work.wait();
  if (prefetch_) prefetch_->work.wait();
  // The parameters outlive this optimizer; their accumulators must stop calling into it.
  for (std::size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

void ZeroOptimizer::on_gradient(std::size_t slot) {
  torch::NoGradGuard no_grad;
  const torch::Tensor& param = params_[slot];
  torch::Tensor grad = param.grad();
  if (!grad.defined()) return;
  const std::size_t b = layout_.bucket_of(slot);
  const ZeroBucket& bucket = layout_.buckets()[b];
  torch::Tensor& staged = staging_[b];
  if (!staged.defined()) staged = torch::zeros({bucket.padded}, grad.options().dtype(torch::kFloat));
  const train::FlatSlot& s = layout_.flat().slots()[slot];
  staged.narrow(0, s.offset - bucket.begin, s.numel).copy_(grad.reshape({-1}));
  param.mutable_grad().reset();  // ZeRO-2: the whole gradient is never kept
  if (++arrived_[b] == bucket.slots.size()) {
    if (zero_.overlap_comm) {
      // One bucket in flight while the next fills, as DeepSpeed's two ipg buffers: waiting only
      // at the end of backward would keep every bucket's staging and receive buffers alive.
      wait_pending();
      torch::Tensor chunk = torch::empty({bucket.chunk}, staged.options());
      comm::CommWork work = comm_.reduce_scatter_async(chunk, staged);
      pending_.push_back({b, std::move(staged), std::move(chunk), std::move(work)});
    } else {
      reduce_bucket(b, staged);
    }
    staged = torch::Tensor();
    if (zero_.stage == 3) release_bucket(b);
  }
}

void ZeroOptimizer::reduce_bucket(std::size_t b, const torch::Tensor& padded) {
  const ZeroBucket& bucket = layout_.buckets()[b];
  torch::Tensor chunk = torch::empty({bucket.chunk}, padded.options());
  comm_.reduce_scatter(chunk, padded);
  grad32_.add(bucket.partition_offset, chunk);
}

void ZeroOptimizer::wait_pending() {
  for (Pending& p : pending_) {
    p.work.wait();
    grad32_.add(layout_.buckets()[p.bucket].partition_offset, p.chunk);
  }
  pending_.clear();
}

void ZeroOptimizer::flush_open_buckets() {
  torch::NoGradGuard no_grad;
  wait_pending();
  for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
    // Every rank runs the same graph, so the same buckets are open on every rank.
    if (arrived_[b] > 0 && arrived_[b] < layout_.buckets()[b].slots.size()) reduce_bucket(b, staging_[b]);
    staging_[b] = torch::Tensor();
    arrived_[b] = 0;
    if (zero_.stage == 3) release_bucket(b);
  }
}

void ZeroOptimizer::accumulate_grads() {
  if (zero_.stage >= 2) flush_open_buckets();
  else flat_->sync_grads();
}

train::StepResult ZeroOptimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  drop_prefetch();  // its chunks are about to change
  if (zero_.stage == 1) {
    flat_->sync_grads();
    torch::Tensor grad = flat_->grad();
    for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
      const ZeroBucket& bucket = layout_.buckets()[b];
      torch::Tensor padded = torch::zeros({bucket.padded}, grad.options().dtype(torch::kFloat));
      padded.narrow(0, 0, bucket.size()).copy_(grad.narrow(0, bucket.begin, bucket.size()));
      reduce_bucket(b, padded);
    }
    grad.zero_();
  } else {
    flush_open_buckets();
  }
  train::StepResult result;
  result.loss_scale = scaler_.loss_scale();
  grad32_.scale(1.0 / (static_cast<double>(comm_.world_size()) * result.loss_scale));
  // The global norm from each rank's partial sum of squares: every rank gets the same value.
  torch::Tensor squares = grad32_.squared_norm(device_);
  comm_.all_reduce(squares);
  result.grad_norm = std::sqrt(squares.item<double>());
  const bool overflow = !std::isfinite(result.grad_norm);
  if (!overflow && options_.gradient_clipping > 0) {
    double coef = options_.gradient_clipping / (result.grad_norm + 1e-6);
    if (coef < 1.0) grad32_.scale(coef);
  }
  train::LossScaleUpdate update = scaler_.update(overflow);
  result.skipped = update.skipped;
  result.message = update.message;
  if (overflow && options_.precision != train::Precision::kFp16) {
    result.message = train::non_finite_norm_message(result.grad_norm);
  }
  if (!result.skipped) {
    // The device's sub-groups first: on a GPU their update runs while the CPU steps the rest.
    if (device_optimizer_) device_optimizer_->step({grad32_.device_part()}, lr);
    optimizer_.step({main_part(grad32_)}, lr);
    if (zero_.stage == 3) {
      store_owned();  // fetched on demand by the next forward
      gather_persistent();
    }
    else gather_parameters();
  }
  grad32_.zero();
  return result;
}

void ZeroOptimizer::gather_parameters() {
  torch::NoGradGuard no_grad;
  torch::Tensor data = flat_->data();
  for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
    const ZeroBucket& bucket = layout_.buckets()[b];
    torch::Tensor mine = master_.read(bucket.partition_offset, bucket.chunk).to(data.device(), data.scalar_type());
    torch::Tensor whole = torch::empty({bucket.padded}, data.options());
    comm_.all_gather_into(whole, mine);
    data.narrow(0, bucket.begin, bucket.size()).copy_(whole.narrow(0, 0, bucket.size()));
  }
}

std::vector<train::NamedTensor> ZeroOptimizer::model_state(bool keep) {
  if (zero_.stage != 3) return flat_->layout().unpack(flat_->data());
  torch::NoGradGuard no_grad;
  drop_prefetch();
  std::vector<train::NamedTensor> out;
  for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
    gather_bucket(b);
    for (std::size_t slot : layout_.buckets()[b].slots) {
      if (!keep) break;
      out.emplace_back(layout_.flat().slots()[slot].name, params_[slot].detach().to(torch::kCPU, false, /*copy=*/true));
    }
    release_bucket(b);
  }
  return out;
}

void ZeroOptimizer::gather_bucket(std::size_t b) {
  if (gathered_[b].defined()) return;
  torch::NoGradGuard no_grad;
  const ZeroBucket& bucket = layout_.buckets()[b];
  torch::Tensor whole;
  if (prefetch_ && prefetch_->bucket == b) {
    prefetch_->work.wait();
    whole = std::move(prefetch_->whole);
    prefetch_.reset();
    ++prefetch_hits_;
  } else {
    drop_prefetch();  // not the expected order (the first block of a backward, an evaluation)
    whole = torch::empty({bucket.padded}, param_options_);
    // With offload_param the chunk comes over from host memory first (nothing to move on a CPU).
    comm_.all_gather_into(whole, owned_chunk(b).to(device_));
  }
  gathered_[b] = whole;
  // The next bucket is fetched while this block runs: forward fetches rising buckets, backward
  // (recomputing each block) falling ones. From NVMe its chunk is read ahead; otherwise its
  // all-gather starts now.
  const std::int64_t next = static_cast<std::int64_t>(b) > last_gathered_ ? static_cast<std::int64_t>(b) + 1
                                                                           : static_cast<std::int64_t>(b) - 1;
  last_gathered_ = static_cast<std::int64_t>(b);
  if (next >= 0 && next < static_cast<std::int64_t>(gathered_.size()) && next != persistent_ && !gathered_[next].defined()) {
    if (swapped_params_) swapped_params_->prefetch(static_cast<std::size_t>(next));
    else maybe_prefetch(next);
  }
  for (std::size_t slot : bucket.slots) {
    const train::FlatSlot& s = layout_.flat().slots()[slot];
    // set_data keeps the autograd leaf (and its gradient accumulator) and swaps the storage.
    params_[slot].set_data(whole.narrow(0, s.offset - bucket.begin, s.numel).view(s.shape));
  }
}

void ZeroOptimizer::maybe_prefetch(std::int64_t next) {
  const ZeroBucket& bucket = layout_.buckets()[static_cast<std::size_t>(next)];
  if (zero_.prefetch_bucket_size <= 0 || bucket.size() > zero_.prefetch_bucket_size) return;
  std::int64_t live = bucket.size();
  for (std::size_t b = 0; b < gathered_.size(); ++b) {
    if (gathered_[b].defined()) live += layout_.buckets()[b].size();
  }
  if (live > zero_.max_live_parameters) return;
  drop_prefetch();
  Prefetch p;
  p.bucket = static_cast<std::size_t>(next);
  p.whole = torch::empty({bucket.padded}, param_options_);
  // From the offload tier (pinned on a GPU) the copy is queued on the stream the collective
  // then waits for, not waited for here.
  p.chunk = owned_chunk(p.bucket).to(device_, param_options_.dtype(), /*non_blocking=*/true);
  p.work = comm_.all_gather_into_async(p.whole, p.chunk);
  prefetch_ = std::move(p);
}

void ZeroOptimizer::drop_prefetch() {
  if (!prefetch_) return;
  prefetch_->work.wait();
  prefetch_.reset();
}

torch::Tensor ZeroOptimizer::owned_chunk(std::size_t b) {
  if (swapped_params_) return swapped_params_->fetch(b);
  const ZeroBucket& bucket = layout_.buckets()[b];
  return owned16_.narrow(0, bucket.partition_offset, bucket.chunk);
}

void ZeroOptimizer::store_owned() {
  if (!swapped_params_) {
    master_.copy_into(0, owned16_);
    return;
  }
  for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
    const ZeroBucket& bucket = layout_.buckets()[b];
    swapped_params_->write(b, master_.read(bucket.partition_offset, bucket.chunk));
  }
}

void ZeroOptimizer::gather_persistent() {
  if (persistent_ < 0) return;
  gathered_[static_cast<std::size_t>(persistent_)] = torch::Tensor();
  // Out of the blocks' order: the read-ahead keeps following the blocks.
  const std::int64_t last = last_gathered_;
  gather_bucket(static_cast<std::size_t>(persistent_));
  last_gathered_ = last;
}

void ZeroOptimizer::gather_group(std::size_t group) {
  if (group < group_bucket_.size() && group_bucket_[group] >= 0) gather_bucket(static_cast<std::size_t>(group_bucket_[group]));
}

void ZeroOptimizer::release_bucket(std::size_t b) {
  if (!gathered_[b].defined() || static_cast<std::int64_t>(b) == persistent_) return;
  torch::NoGradGuard no_grad;
  for (std::size_t slot : layout_.buckets()[b].slots) params_[slot].set_data(torch::empty({0}, param_options_));
  gathered_[b] = torch::Tensor();
}

void ZeroOptimizer::begin_forward() {
  if (zero_.stage != 3) return;
  // A forward fetches from the first bucket up, whatever the last backward fetched.
  last_gathered_ = -1;
  gather_group(0);
}

void ZeroOptimizer::before_block(std::int64_t index) {
  if (zero_.stage == 3) gather_group(static_cast<std::size_t>(index) + 1);
}

torch::Tensor ZeroOptimizer::after_block(std::int64_t index, torch::Tensor output) {
  const std::size_t group = static_cast<std::size_t>(index) + 1;
  if (zero_.stage != 3 || group >= group_bucket_.size() || group_bucket_[group] < 0) return output;
  const std::size_t b = static_cast<std::size_t>(group_bucket_[group]);
  if (output.requires_grad()) {
    // Before this block's backward (which recomputes it) its parameters must be back.
    output.register_hook([this, b](const at::TensorBase&) { gather_bucket(b); });
  }
  release_bucket(b);
  return output;
}

void ZeroOptimizer::end_forward() {
  // Without a backward to come (evaluation), nothing needs the outer parameters any more.
  if (zero_.stage == 3 && !torch::GradMode::is_enabled() && !group_bucket_.empty() && group_bucket_[0] >= 0) {
    release_bucket(static_cast<std::size_t>(group_bucket_[0]));
  }
}

const torch::Tensor& ZeroOptimizer::main_part(const TieredPartition& partition) const {
  return zero_.offload_optimizer ? partition.host_part() : partition.device_part();
}

void ZeroOptimizer::set_betas(double beta1, double beta2) {
  optimizer_.set_betas(beta1, beta2);
  if (device_optimizer_) device_optimizer_->set_betas(beta1, beta2);
}

std::vector<std::string> ZeroOptimizer::state_kinds() const {
  std::vector<std::string> kinds = {"master"};
  for (const std::string& name : optimizer_.state_names()) kinds.push_back(name.substr(name.find('.') + 1));
  return kinds;
}

std::vector<checkpoint::Fragment> ZeroOptimizer::state_fragments() const {
  std::vector<checkpoint::Fragment> out;
  const auto pieces = layout_.pieces(rank_);
  // Once: states swapped to NVMe are read in by state_tensors(). With partial offload each state
  // is the device's sub-groups followed by the offloaded ones, as the master.
  std::map<std::string, torch::Tensor> states = {{"master", master_.whole()}};
  for (const auto& [name, t] : optimizer_.state_tensors()) states[name.substr(name.find('.') + 1)] = t;
  if (device_optimizer_) {
    for (const auto& [name, t] : device_optimizer_->state_tensors()) {
      torch::Tensor& state = states[name.substr(name.find('.') + 1)];
      state = torch::cat({t.to(torch::kCPU), state.to(torch::kCPU)});
    }
  }
  for (const std::string& kind : state_kinds()) {
    const torch::Tensor& partition = states.at(kind);
    for (const OwnedPiece& p : pieces) {
      out.push_back({kind, layout_.flat().slots()[p.slot].name, p.param_offset,
                     partition.narrow(0, p.partition_offset, p.length)});
    }
  }
  return out;
}

nlohmann::json ZeroOptimizer::optimizer_state_meta() const {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& s : layout_.flat().slots()) params.push_back({{"name", s.name}, {"shape", s.shape}});
  return {{"precision", train::to_string(options_.precision)},
          {"optimizer", optimizer_.state_meta()},
          {"zero", {{"stage", zero_.stage}, {"world_size", layout_.world()}}},
          {"params", params}};
}

void ZeroOptimizer::load_state(const nlohmann::json& meta, const StateReader& read,
                               const std::function<bool(const std::string&)>& has, const std::string& where) {
  torch::NoGradGuard no_grad;
  drop_prefetch();
  const auto pieces = layout_.pieces(rank_);
  std::map<std::string, torch::Tensor> loaded;
  for (const std::string& kind : state_kinds()) {
    if (!has(kind)) {
      // A checkpoint without momentum yet (SGD before its first step) leaves the zeros.
      if (kind == "master") throw RuntimeError(format_error(where, "the checkpoint has no fp32 master weights"));
      continue;
    }
    torch::Tensor filled = torch::zeros({layout_.partition_numel()}, torch::kFloat);
    for (const OwnedPiece& p : pieces) {
      read(kind, layout_.flat().slots()[p.slot].name, p.param_offset, filled.narrow(0, p.partition_offset, p.length));
    }
    if (kind == "master") master_.write(0, filled);
    else loaded["group0." + kind] = filled;
  }
  const nlohmann::json optimizer_meta = meta.value("optimizer", nlohmann::json::object());
  if (device_optimizer_) {
    // Partial offload: the first on_device elements of every state are the device optimizer's.
    const std::int64_t split = master_.on_device(), rest = master_.numel() - split;
    std::map<std::string, torch::Tensor> kept;
    for (auto& [name, t] : loaded) {
      kept[name] = t.narrow(0, 0, split).to(master_.device_part().device());
      t = t.narrow(0, split, rest).contiguous();
    }
    device_optimizer_->load_state(optimizer_meta, kept, where);
  }
  optimizer_.load_state(optimizer_meta, loaded, where);
  if (zero_.stage == 3) {
    store_owned();
    gather_persistent();
  } else {
    gather_parameters();
  }
}

}  // namespace ds::engine::zero
