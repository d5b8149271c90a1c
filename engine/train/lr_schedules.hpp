#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "configs/config.hpp"

namespace ds::engine::train {

// Learning-rate schedules with DeepSpeed's semantics, parameter names and defaults
// (deepspeed/runtime/lr_schedules.py; https://deepspeed.readthedocs.io/en/latest/schedulers.html).
// Pure math, no torch; parameters come from the config's `scheduler` section
// (configs::SchedulerConfig, whose reader owns key names, types and defaults).
//
// The counter is DeepSpeed's `last_batch_iteration`: -1 before the first step(). DeepSpeed's
// engine calls step() after every *applied* optimizer step (a step skipped on fp16 overflow does
// not advance the schedule), so the lr used by applied optimizer step k (1-based) is lr_at(k - 2).
// One lr for every parameter group (DeepSpeed also accepts a list per group; ds configs hold scalars).

/// A learning-rate schedule. lr_at() is a pure function of the iteration; the object only keeps
/// the counter, which is all its checkpoint state (DeepSpeed's state_dict holds the same).
class LRSchedule {
 public:
  virtual ~LRSchedule() = default;

  /// DeepSpeed's type name ("WarmupLR", ...; "Constant" without a scheduler section).
  virtual std::string_view type() const = 0;
  /// The lr after `last_batch_iteration` + 1 calls of step() (-1: before the first step).
  virtual double lr_at(std::int64_t last_batch_iteration) const = 0;
  /// (beta1, beta2) for Adam-type optimizers when the schedule cycles momentum (OneCycle with
  /// cycle_momentum), else nullopt.
  virtual std::optional<std::pair<double, double>> betas_at(std::int64_t last_batch_iteration) const;

  /// The lr for the next optimizer step.
  double lr() const { return lr_at(last_batch_iteration_); }
  /// The betas for the next optimizer step (see betas_at).
  std::optional<std::pair<double, double>> betas() const { return betas_at(last_batch_iteration_); }
  /// Advances the schedule by one applied optimizer step.
  void step() { ++last_batch_iteration_; }
  std::int64_t last_batch_iteration() const { return last_batch_iteration_; }

  /// {"type": ..., "last_batch_iteration": N}, for checkpoints.
  nlohmann::json state_dict() const;
  /// Restores the counter; throws RuntimeError when the type differs or the state is malformed.
  void load_state_dict(const nlohmann::json& state);

 protected:
  explicit LRSchedule(std::int64_t last_batch_iteration) : last_batch_iteration_(last_batch_iteration) {}

 private:
  std::int64_t last_batch_iteration_;
};

/// Builds the schedule of a `scheduler` section. `optimizer_lr` is optimizer.params.lr: the
/// default warmup_max_lr of WarmupLR and the base that WarmupCosineLR scales. kNone gives a
/// constant `optimizer_lr`. Values DeepSpeed rejects or cannot run (warmup_num_steps <= 0, a
/// missing total_num_steps or cycle_min_lr, a zero step size) throw ConfigError naming
/// "scheduler.params.<key>". Per schedule (i = last_batch_iteration, n = max(2, warmup_num_steps)):
///  - WarmupLR: min + (max - min) * g(i), g = log(i+1)/log(n) or i/n while i < n, then 1.
///  - WarmupDecayLR: as WarmupLR, then g = max(0, (total - i) / max(1, total - n)).
///  - WarmupCosineLR: lr * ratio; warm-up ratio = wmr + (1 - wmr) g(i); then
///    cmr + (1 - cmr)(1 + cos(pi min(1, (i - n + 1)/max(1, total - n))))/2.
///  - OneCycle: Smith's triangle (arXiv:1803.09820) between cycle_min_lr and cycle_max_lr over
///    first + second step sizes (optionally in stairs), then min_lr / (1 + rate * t / decay_step_size);
///    beta1 cycles from cycle_max_mom down and back, beta2 pinned to 0.99 (as DeepSpeed does).
///  - LRRangeTest: min_lr * (1 + rate * (i+1)/step_size), the interval floored with staircase.
std::unique_ptr<LRSchedule> make_lr_schedule(const configs::SchedulerConfig& config, double optimizer_lr);

}  // namespace ds::engine::train
