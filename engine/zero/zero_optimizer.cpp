#include "engine/zero/zero_optimizer.hpp"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <cmath>

#include "common/error.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/offload/host_tier.hpp"

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
  const auto fp32 = torch::TensorOptions().dtype(torch::kFloat).device(device);
  auto partition = [&] {
    return zero_.offload_optimizer ? offload::HostTier::zeros(layout_.partition_numel(), device)
                                   : torch::zeros({layout_.partition_numel()}, fp32);
  };
  if (zero_.offload_optimizer) train::offload_to_host(optimizer_, device, zero_.nvme);
  master_ = partition();
  {
    // The master keeps the full-precision values, taken before the model's are rounded; only
    // this rank's chunks are kept.
    torch::Tensor whole = layout_.flat().pack(tensors, torch::kFloat, device);
    for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
      auto [first, last] = layout_.owned_range(b, rank_);
      master_.narrow(0, layout_.buckets()[b].partition_offset, last - first).copy_(whole.narrow(0, first, last - first));
    }
  }
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
      owned16_.copy_(master_);
    } else {
      // Offloaded, the device keeps a chunk of its own even in fp32 (the master is in host memory).
      owned16_ = master_.to(device_, dtype, false, /*copy=*/zero_.offload_optimizer);
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
  grad32_ = partition();
  optimizer_.add_group(master_);
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

ZeroOptimizer::~ZeroOptimizer() {
  for (Pending& p : pending_) p.work.wait();
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
  grad32_.narrow(0, bucket.partition_offset, bucket.chunk).add_(chunk.to(grad32_.device()));
}

void ZeroOptimizer::wait_pending() {
  for (Pending& p : pending_) {
    p.work.wait();
    grad32_.narrow(0, layout_.buckets()[p.bucket].partition_offset, p.chunk.numel()).add_(p.chunk.to(grad32_.device()));
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
  grad32_.mul_(1.0 / (static_cast<double>(comm_.world_size()) * result.loss_scale));
  // The global norm from each rank's partial sum of squares: every rank gets the same value.
  torch::Tensor squares = grad32_.norm(2).to(device_, torch::kDouble).pow(2).reshape({1});
  comm_.all_reduce(squares);
  result.grad_norm = std::sqrt(squares.item<double>());
  const bool overflow = !std::isfinite(result.grad_norm);
  if (!overflow && options_.gradient_clipping > 0) {
    double coef = options_.gradient_clipping / (result.grad_norm + 1e-6);
    if (coef < 1.0) grad32_.mul_(coef);
  }
  train::LossScaleUpdate update = scaler_.update(overflow);
  result.skipped = update.skipped;
  result.message = update.message;
  if (overflow && options_.precision != train::Precision::kFp16) {
    result.message = train::non_finite_norm_message(result.grad_norm);
  }
  if (!result.skipped) {
    optimizer_.step({grad32_}, lr);
    if (zero_.stage == 3) {
      store_owned();  // fetched on demand by the next forward
      gather_persistent();
    }
    else gather_parameters();
  }
  grad32_.zero_();
  return result;
}

void ZeroOptimizer::gather_parameters() {
  torch::NoGradGuard no_grad;
  torch::Tensor data = flat_->data();
  for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
    const ZeroBucket& bucket = layout_.buckets()[b];
    torch::Tensor mine = master_.narrow(0, bucket.partition_offset, bucket.chunk).to(data.device(), data.scalar_type());
    torch::Tensor whole = torch::empty({bucket.padded}, data.options());
    comm_.all_gather_into(whole, mine);
    data.narrow(0, bucket.begin, bucket.size()).copy_(whole.narrow(0, 0, bucket.size()));
  }
}

std::vector<train::NamedTensor> ZeroOptimizer::model_state() {
  if (zero_.stage != 3) return flat_->layout().unpack(flat_->data());
  torch::NoGradGuard no_grad;
  std::vector<train::NamedTensor> out;
  for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
    gather_bucket(b);
    for (std::size_t slot : layout_.buckets()[b].slots) {
      out.emplace_back(layout_.flat().slots()[slot].name, params_[slot].detach().clone());
    }
    release_bucket(b);
  }
  return out;
}

void ZeroOptimizer::gather_bucket(std::size_t b) {
  if (gathered_[b].defined()) return;
  torch::NoGradGuard no_grad;
  const ZeroBucket& bucket = layout_.buckets()[b];
  torch::Tensor whole = torch::empty({bucket.padded}, param_options_);
  // With offload_param the chunk comes over from host memory first (nothing to move on a CPU).
  comm_.all_gather_into(whole, owned_chunk(b).to(device_));
  // The next bucket's chunk is read from NVMe while this block runs: forward fetches rising
  // buckets, backward (recomputing each block) falling ones.
  const std::int64_t next = static_cast<std::int64_t>(b) > last_gathered_ ? static_cast<std::int64_t>(b) + 1
                                                                           : static_cast<std::int64_t>(b) - 1;
  last_gathered_ = static_cast<std::int64_t>(b);
  if (swapped_params_ && next >= 0 && next < static_cast<std::int64_t>(gathered_.size()) && next != persistent_ &&
      !gathered_[next].defined()) {
    swapped_params_->prefetch(static_cast<std::size_t>(next));
  }
  for (std::size_t slot : bucket.slots) {
    const train::FlatSlot& s = layout_.flat().slots()[slot];
    // set_data keeps the autograd leaf (and its gradient accumulator) and swaps the storage.
    params_[slot].set_data(whole.narrow(0, s.offset - bucket.begin, s.numel).view(s.shape));
  }
  gathered_[b] = whole;
}

torch::Tensor ZeroOptimizer::owned_chunk(std::size_t b) {
  if (swapped_params_) return swapped_params_->fetch(b);
  const ZeroBucket& bucket = layout_.buckets()[b];
  return owned16_.narrow(0, bucket.partition_offset, bucket.chunk);
}

void ZeroOptimizer::store_owned() {
  if (!swapped_params_) {
    owned16_.copy_(master_);
    return;
  }
  for (std::size_t b = 0; b < layout_.buckets().size(); ++b) {
    const ZeroBucket& bucket = layout_.buckets()[b];
    swapped_params_->write(b, master_.narrow(0, bucket.partition_offset, bucket.chunk));
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
  if (zero_.stage == 3) gather_group(0);
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

std::vector<std::string> ZeroOptimizer::state_kinds() const {
  std::vector<std::string> kinds = {"master"};
  for (const std::string& name : optimizer_.state_names()) kinds.push_back(name.substr(name.find('.') + 1));
  return kinds;
}

std::vector<checkpoint::Fragment> ZeroOptimizer::state_fragments() const {
  std::vector<checkpoint::Fragment> out;
  const auto pieces = layout_.pieces(rank_);
  // Once: states swapped to NVMe are read in by state_tensors().
  std::map<std::string, torch::Tensor> states = {{"master", master_}};
  for (const auto& [name, t] : optimizer_.state_tensors()) states[name.substr(name.find('.') + 1)] = t;
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
    if (kind == "master") master_.copy_(filled);
    else loaded["group0." + kind] = filled;
  }
  optimizer_.load_state(meta.value("optimizer", nlohmann::json::object()), loaded, where);
  if (zero_.stage == 3) {
    store_owned();
    gather_persistent();
  } else {
    gather_parameters();
  }
}

}  // namespace ds::engine::zero
