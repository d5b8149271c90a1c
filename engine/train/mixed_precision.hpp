#pragma once
#include <torch/torch.h>

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
#include "engine/train/loss_scaler.hpp"
#include "engine/train/optimizer.hpp"

namespace ds::engine::checkpoint {
class ParamStates;
}

namespace ds::engine::train {

/// The dtype the model's parameters, activations and gradients are kept in.
enum class Precision {
  kFp32,  ///< fp32 parameters are the optimizer's own (no copy)
  kBf16,  ///< bf16 parameters, fp32 master copy and fp32 gradient accumulation
  kFp16,  ///< fp16 parameters, fp32 master copy, dynamic (or static) loss scaling
};

/// "fp32" / "bf16" / "fp16".
std::string to_string(Precision precision);
Precision precision_of(configs::DType dtype);
torch::ScalarType scalar_type_of(Precision precision);

/// One optimizer parameter group (DeepSpeed users split "decay" / "no decay" groups).
struct ParamGroupSpec {
  std::vector<NamedTensor> params;           ///< HF names and the model's parameter tensors
  std::optional<double> weight_decay;        ///< unset: the optimizer's weight_decay
};

struct MixedPrecisionOptions {
  Precision precision = Precision::kFp32;
  double gradient_clipping = 0.0;            ///< max global L2 norm of the gradients; 0 = no clipping
  configs::Fp16Config fp16;                  ///< loss scaling; used when precision is kFp16
  /// ZeRO-Offload (offload_optimizer.device cpu): the fp32 master, the fp32 gradients and the
  /// optimizer states live in the offload tier (offload::HostTier), the CPU Adam kernel steps,
  /// and the updated values are copied back into the model's parameters. fp32 models then
  /// keep a master copy of their own too.
  bool offload_optimizer = false;
  /// With offload_optimizer: Adam's states in NVMe swap files instead of host memory
  /// (offload_optimizer.device nvme; Optimizer::swap_states_to_nvme).
  std::optional<offload::NvmeOptions> nvme;
};

/// What one call of step() did.
struct StepResult {
  bool skipped = false;      ///< inf/nan gradients: no update was applied
  double grad_norm = 0.0;    ///< global L2 norm of the unscaled gradients before clipping
  double loss_scale = 1.0;   ///< the scale this step's loss was multiplied by
  std::string message;       ///< loss-scaler event or skip reason, for the log ("" normally)
};

/// The loss scaler's configuration for `options`: fp16's own, else a static scale of 1.
configs::Fp16Config loss_scaler_config(const MixedPrecisionOptions& options);
/// What a bf16/fp32 step skipped for an inf/nan gradient norm says.
std::string non_finite_norm_message(double norm);

/// Global L2 norm of `grads` (as torch::nn::utils::clip_grad_norm_ computes it: the norm of the
/// per-tensor norms), then, when max_norm > 0 and the norm exceeds it, scales every gradient by
/// max_norm / (norm + 1e-6) in place. Returns the norm before clipping (inf/nan left as is, and
/// then nothing is scaled).
double clip_grad_norm(const std::vector<torch::Tensor>& grads, double max_norm);

/// The optimizer as the trainer drives it: flat parameter groups (FlatParams), an fp32 master
/// copy when the model is bf16/fp16, gradients moved to fp32 (unscaled for fp16), an overflow
/// check, global-norm clipping (DeepSpeed's gradient_clipping), the update, and the copy of the
/// master back into the model's parameters. Built from the model's parameters, not its class.
///
/// Per step the trainer: multiplies the loss by loss_scale(), runs backward (gradients land in
/// the flat buffers), optionally calls accumulate_grads() after each micro-batch, then step(lr).
class MixedPrecisionOptimizer {
 public:
  /// Takes over the parameters of `groups` (see FlatParams): converts them to the precision's
  /// dtype in place and keeps the fp32 values as the master copy.
  MixedPrecisionOptimizer(const std::vector<ParamGroupSpec>& groups, const OptimizerOptions& optimizer,
                          const MixedPrecisionOptions& options);

  /// Multiply the loss by this before backward (1 unless fp16).
  double loss_scale() const { return scaler_.loss_scale(); }
  Precision precision() const { return options_.precision; }
  Optimizer& optimizer() { return optimizer_; }
  LossScaler& loss_scaler() { return scaler_; }
  const LossScaler& loss_scaler() const { return scaler_; }
  std::size_t group_count() const { return groups_.size(); }
  /// Group g's flat fp32 gradient (what the optimizer reads; for fp32 models the model's own).
  const torch::Tensor& fp32_grad(std::size_t g) const { return groups_.at(g).grad32; }

  /// bf16/fp16: adds the model-dtype gradients into the fp32 accumulators and clears them, so
  /// gradient accumulation over micro-batches sums in fp32. No-op for fp32. step() calls it too.
  void accumulate_grads();
  /// Unscale, overflow check, clip, update with `lr`, copy master -> model, clear gradients.
  /// Throws RuntimeError when an fp16 overflow happens at the minimum loss scale.
  StepResult step(double lr);
  /// Clears all gradients (model-dtype and fp32).
  void zero_grad();

  /// Called by step() with every group's fp32 gradient once the micro-batches are summed and
  /// before anything else looks at them: data parallelism averages them across ranks here, so
  /// the overflow check, the norm and clipping see the global gradient on every rank.
  using GradReducer = std::function<void(const std::vector<torch::Tensor>& grads)>;
  void set_grad_reducer(GradReducer reducer) { reducer_ = std::move(reducer); }

  /// The model's parameters (model dtype, HF names, first name of tied tensors), for checkpoints.
  std::vector<NamedTensor> model_state() const;
  /// Copies named tensors (any float dtype) into the master and model parameters. Every
  /// parameter must be present with its shape; throws RuntimeError naming `where` otherwise.
  void load_model_state(const std::map<std::string, torch::Tensor>& tensors, const std::string& where);

  /// Optimizer states: tensors ("group<g>.exp_avg", ..., and "group<g>.master" for bf16/fp16)
  /// and metadata (rule, steps, precision, each group's parameter layout).
  std::vector<NamedTensor> optimizer_state_tensors() const;
  nlohmann::json optimizer_state_meta() const;
  /// Restores them (after load_model_state). A saved fp32 master, when present, is the exact
  /// value and wins over the model-dtype weights. Throws RuntimeError naming `where`.
  void load_optimizer_state(const nlohmann::json& meta, const std::map<std::string, torch::Tensor>& tensors,
                            const std::string& where);
  /// Restores them from a checkpoint's per-parameter states, stage-0 flat or ZeRO fragments saved
  /// on any number of ranks: each group's flat states (and fp32 master, when saved) are filled slot
  /// by slot by parameter name; rule and step counts come from meta["optimizer"]. Call after
  /// load_model_state. Throws RuntimeError naming `where` (metadata) or the checkpoint (states).
  void load_optimizer_state(const nlohmann::json& meta, const checkpoint::ParamStates& states,
                            const std::string& where);

 private:
  struct Group {
    std::unique_ptr<FlatParams> flat;  ///< model-dtype parameters and gradients
    torch::Tensor master;              ///< fp32 master (== flat->data() for fp32)
    torch::Tensor grad32;              ///< fp32 gradient (== flat->grad() for fp32)
  };
  bool has_master_copy() const { return options_.precision != Precision::kFp32 || options_.offload_optimizer; }
  void copy_master_to_model();

  MixedPrecisionOptions options_;
  Optimizer optimizer_;
  LossScaler scaler_;
  std::vector<Group> groups_;
  GradReducer reducer_;
};

}  // namespace ds::engine::train
