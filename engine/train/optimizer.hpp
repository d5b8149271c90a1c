#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "configs/config.hpp"
#include "engine/offload/swapped_states.hpp"
#include "engine/train/flat_params.hpp"

namespace ds::engine::train {

/// The update rule.
enum class UpdateRule {
  kAdam,   ///< Adam with L2 weight decay added to the gradient (torch.optim.Adam)
  kAdamW,  ///< Adam with decoupled weight decay (torch.optim.AdamW, Loshchilov & Hutter 2019)
  kSgd,    ///< SGD with optional (Nesterov) momentum (torch.optim.SGD)
};

/// "Adam" / "AdamW" / "SGD".
std::string to_string(UpdateRule rule);

/// Hyper-parameters of the flat optimizer.
struct OptimizerOptions {
  UpdateRule rule = UpdateRule::kAdamW;
  double beta1 = 0.9;           ///< Adam first-moment decay
  double beta2 = 0.999;         ///< Adam second-moment decay
  double eps = 1e-8;            ///< Adam denominator term
  double weight_decay = 0.0;    ///< default for groups that do not set their own
  bool bias_correction = true;  ///< Adam bias correction (DeepSpeed FusedAdam option)
  double momentum = 0.0;        ///< SGD
  double dampening = 0.0;       ///< SGD
  bool nesterov = false;        ///< SGD
};

/// The update rule and hyper-parameters of a DeepSpeed `optimizer` section, with DeepSpeed's
/// meaning: "Adam" runs as AdamW unless params.adam_w_mode is false (ADAM_W_MODE_DEFAULT = True in
/// deepspeed/runtime/config.py; engine._configure_basic_optimizer), "AdamW" is always AdamW,
/// "SGD" is torch.optim.SGD. No optimizer section (kNone) gives AdamW with the defaults.
/// Throws ConfigError for other types (Lamb, Lion, 1-bit, ...) and for options this trainer does
/// not implement (amsgrad, SGD nesterov without momentum).
OptimizerOptions optimizer_options(const configs::OptimizerConfig& config);

/// Adam/AdamW/SGD over flat fp32 buffers: each parameter group is one contiguous tensor updated in
/// place, its states (exp_avg, exp_avg_sq or momentum_buffer) flat tensors of the same size. The
/// math is torch.optim's single-tensor implementation (torch 1.13 adam.py/adamw.py/sgd.py),
/// applied chunk by chunk so the temporaries stay small and cache-resident.
class Optimizer {
 public:
  explicit Optimizer(const OptimizerOptions& options);

  /// Makes a zeroed contiguous fp32 tensor of n elements.
  using StateAllocator = std::function<torch::Tensor(std::int64_t n)>;
  /// ZeRO-Offload: the states (and SGD's scratch) come from `allocate` (the offload tier, see
  /// offload::HostTier), and Adam/AdamW run as DeepSpeedCPUAdam does, through the SIMD CPU
  /// kernel (kernels::adam_step), which keeps no scratch. The groups' parameters and gradients
  /// must then be CPU tensors. Call before add_group.
  void offload_states(StateAllocator allocate);
  bool offloaded() const { return static_cast<bool>(allocate_); }
  /// ZeRO-Infinity: Adam's states (exp_avg, exp_avg_sq) live in NVMe swap files and each step
  /// streams them through host buffers sub-group by sub-group (offload::SwappedStates), so the
  /// host holds the parameters and gradients only. Needs offload_states() first and Adam/AdamW
  /// (ConfigError otherwise). `options.tag` is extended per group. Call before add_group.
  void swap_states_to_nvme(const offload::NvmeOptions& options);
  bool swapped() const { return nvme_.has_value(); }

  /// Adds a group: `params` is a flat fp32 tensor this optimizer updates in place; the group's
  /// weight decay defaults to options().weight_decay. Returns the group index.
  std::size_t add_group(torch::Tensor params, std::optional<double> weight_decay = std::nullopt);

  /// One update of every group with learning rate `lr`; grads[g] is group g's flat fp32 gradient.
  void step(const std::vector<torch::Tensor>& grads, double lr);

  /// Changes Adam's betas (OneCycle's cycle_momentum). Ignored by SGD, as DeepSpeed's OneCycle
  /// turns momentum cycling off for optimizers without betas.
  void set_betas(double beta1, double beta2);

  const OptimizerOptions& options() const { return options_; }
  std::size_t group_count() const { return groups_.size(); }
  /// Updates applied to group g so far (Adam's t).
  std::int64_t step_count(std::size_t group) const { return groups_.at(group).step; }

  /// State tensors named "group<g>.exp_avg", "group<g>.exp_avg_sq" (Adam) or
  /// "group<g>.momentum_buffer" (SGD with momentum, once created). Views, not copies, except for
  /// states swapped to NVMe: those are read into new tensors (write them back with load_state).
  std::vector<NamedTensor> state_tensors() const;
  /// Their names alone (nothing is read from NVMe).
  std::vector<std::string> state_names() const;
  /// Scalars: rule, hyper-parameters, per-group step and weight decay.
  nlohmann::json state_meta() const;
  /// Restores state_tensors()/state_meta(); throws RuntimeError naming `where` (the checkpoint
  /// file) when the rule, the group count or a tensor's size does not match.
  void load_state(const nlohmann::json& meta, const std::map<std::string, torch::Tensor>& tensors,
                  const std::string& where);

 private:
  struct Group {
    torch::Tensor params;
    double weight_decay = 0.0;
    std::int64_t step = 0;
    torch::Tensor exp_avg, exp_avg_sq, momentum_buffer;
    std::shared_ptr<offload::SwappedStates> swapped;  ///< NVMe: exp_avg, exp_avg_sq in files
  };
  std::vector<std::string> state_kinds(const Group& g) const;
  void adam_step(Group& g, const torch::Tensor& grad, double lr);
  void sgd_step(Group& g, const torch::Tensor& grad, double lr);
  void cpu_kernel_adam_step(Group& g, const torch::Tensor& grad, double lr);
  torch::Tensor zeros(const torch::Tensor& like) const;

  OptimizerOptions options_;
  std::vector<Group> groups_;
  torch::Tensor scratch_a_, scratch_b_;  ///< per-chunk temporaries, reused across steps
  StateAllocator allocate_;              ///< set: offloaded states, CPU Adam kernel
  std::optional<offload::NvmeOptions> nvme_;  ///< set: Adam states swapped to NVMe
};

/// ZeRO-Offload's setup of `optimizer`, shared by the single-process and the ZeRO optimizers:
/// states in the offload tier (offload::HostTier, pinned when `device` is CUDA), and with `nvme`
/// Adam's states in swap files. Call before add_group.
void offload_to_host(Optimizer& optimizer, const torch::Device& device, const std::optional<offload::NvmeOptions>& nvme);

}  // namespace ds::engine::train
