#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "configs/config.hpp"

namespace ds::engine::train {

/// What update() decided for one step.
struct LossScaleUpdate {
  bool overflow = false;     ///< the gradients had inf/nan
  bool skipped = false;      ///< the optimizer step must be skipped (== overflow)
  double old_scale = 1.0;    ///< the scale the step's loss was multiplied by
  double new_scale = 1.0;    ///< the scale for the next step
  std::string message;       ///< what happened, for the log (empty on an ordinary clean step)
};

/// fp16 loss scaling with DeepSpeed's DynamicLossScaler state machine
/// (deepspeed/runtime/fp16/loss_scaler.py, after Megatron-LM / NVIDIA apex):
///  - overflow with hysteresis == 1 (or hysteresis exhausted): scale = max(scale / 2, min); the step
///    is skipped. Already at the minimum: RuntimeError (DeepSpeed raises "Current loss scale already
///    at minimum - cannot decrease scale anymore").
///  - overflow otherwise: hysteresis -= 1, scale kept, step skipped.
///  - clean step: with consecutive_hysteresis the hysteresis is refilled; every loss_scale_window
///    clean iterations since the last overflow, the scale doubles (and, without
///    consecutive_hysteresis, the hysteresis is refilled then).
/// With a static scale (loss_scale > 0) the scale never changes; an overflow still skips the step.
/// Torch-free; the caller detects the overflow (inf/nan gradient norm).
class LossScaler {
 public:
  /// Reads the loss-scaling keys of the `fp16` section (`enabled` is the caller's business).
  /// Throws ConfigError naming "fp16.<key>" for values DeepSpeed rejects (hysteresis 0, ...).
  explicit LossScaler(const configs::Fp16Config& options = {});

  /// Multiply the loss by this before backward().
  double loss_scale() const { return cur_scale_; }
  bool dynamic() const { return dynamic_; }
  int hysteresis_left() const { return cur_hysteresis_; }
  /// Number of update() calls so far (DeepSpeed's cur_iter).
  std::int64_t iteration() const { return cur_iter_; }
  /// Steps skipped because of overflow so far.
  std::int64_t skipped_steps() const { return skipped_steps_; }

  /// Records the outcome of one step and moves the state machine. Throws RuntimeError when a
  /// dynamic scaler overflows while already at min_loss_scale.
  LossScaleUpdate update(bool overflow);

  /// Everything update() depends on, for checkpoints.
  nlohmann::json state_dict() const;
  /// Restores state_dict(); throws RuntimeError on a malformed or mismatching state.
  void load_state_dict(const nlohmann::json& state);

 private:
  configs::Fp16Config options_;
  bool dynamic_ = false;
  double cur_scale_ = 1.0;
  std::int64_t cur_iter_ = 0;
  std::int64_t last_overflow_iter_ = -1;
  int cur_hysteresis_ = 1;
  std::int64_t skipped_steps_ = 0;
};

}  // namespace ds::engine::train
