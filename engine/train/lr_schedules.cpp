#include "engine/train/lr_schedules.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/error.hpp"

namespace ds::engine::train {
namespace {

// Every formula below follows deepspeed/runtime/lr_schedules.py operation by operation (same
// order of floating-point operations), so the values agree with DeepSpeed to the last bit where
// Python and C++ round alike; the unit tests check them against tests/engine/reference/lr_reference.py.

using Params = configs::SchedulerParams;

void require(bool ok, const std::string& key, const std::string& what, const std::string& got) {
  if (!ok) throw ConfigError(format_error("scheduler.params." + key, what, got));
}

template <typename T>
T required(const std::optional<T>& value, const std::string& key) {
  if (!value) {
    throw ConfigError(format_error("scheduler.params." + key, "missing; this schedule has no default for it"));
  }
  return *value;
}

/// DeepSpeed: warmup_num_steps must be a positive int, then max(2, n) so log(n) > 0.
std::int64_t checked_warmup_steps(std::int64_t n) {
  require(n > 0, "warmup_num_steps", "must be a positive integer", std::to_string(n));
  return std::max<std::int64_t>(2, n);
}

/// The warm-up fraction in [0, 1) for iteration i < n (shared by the three warm-up schedules).
double warmup_gamma(configs::WarmupType type, double inverse_log_n, std::int64_t i, std::int64_t n) {
  if (type == configs::WarmupType::kLog) return inverse_log_n * std::log(static_cast<double>(i + 1));
  return static_cast<double>(i) / static_cast<double>(n);
}

class ConstantLR final : public LRSchedule {
 public:
  explicit ConstantLR(double lr) : LRSchedule(-1), lr_(lr) {}
  std::string_view type() const override { return "Constant"; }
  double lr_at(std::int64_t) const override { return lr_; }

 private:
  double lr_;
};

class LRRangeTest final : public LRSchedule {
 public:
  explicit LRRangeTest(const Params& p) : LRSchedule(p.last_batch_iteration), p_(p) {
    require(p.lr_range_test_step_size > 0, "lr_range_test_step_size", "must be a positive integer",
            std::to_string(p.lr_range_test_step_size));
  }
  std::string_view type() const override { return "LRRangeTest"; }
  double lr_at(std::int64_t i) const override {
    double interval = static_cast<double>(i + 1) / static_cast<double>(p_.lr_range_test_step_size);
    if (p_.lr_range_test_staircase) interval = std::floor(interval);
    return p_.lr_range_test_min_lr * (1.0 + p_.lr_range_test_step_rate * interval);
  }

 private:
  Params p_;
};

class OneCycle final : public LRSchedule {
 public:
  explicit OneCycle(const Params& p)
      : LRSchedule(p.last_batch_iteration), p_(p), min_lr_(required(p.cycle_min_lr, "cycle_min_lr")),
        max_lr_(required(p.cycle_max_lr, "cycle_max_lr")) {
    require(p.cycle_first_step_size > 0, "cycle_first_step_size", "must be a positive integer",
            std::to_string(p.cycle_first_step_size));
    first_ = static_cast<double>(p.cycle_first_step_size);
    second_ = p.cycle_second_step_size ? static_cast<double>(*p.cycle_second_step_size) : first_;
    require(second_ >= 0, "cycle_second_step_size", "must not be negative", std::to_string(static_cast<std::int64_t>(second_)));
    require(p.decay_step_size >= 0, "decay_step_size", "must not be negative", std::to_string(p.decay_step_size));
    total_ = first_ + second_;
    step_ratio_ = first_ / total_;
    second_stairs_ = p.cycle_second_stair_count.value_or(p.cycle_first_stair_count);
    // DeepSpeed skips the post-cycle decay when math.isclose(x, 0), which (abs_tol 0) means x == 0.
    bool no_steps = p.decay_step_size == 0;
    skip_lr_decay_ = no_steps || p.decay_lr_rate == 0.0;
    skip_mom_decay_ = no_steps || p.decay_mom_rate == 0.0;
  }
  std::string_view type() const override { return "OneCycle"; }

  double lr_at(std::int64_t i) const override {
    if (static_cast<double>(i) < total_) return min_lr_ + (max_lr_ - min_lr_) * scale_factor(i);
    if (skip_lr_decay_) return min_lr_;
    return min_lr_ / (1.0 + p_.decay_lr_rate * decay_interval(i));
  }

  std::optional<std::pair<double, double>> betas_at(std::int64_t i) const override {
    if (!p_.cycle_momentum) return std::nullopt;
    // DeepSpeed pins beta2 to 0.99 while it cycles beta1, and starts from cycle_min_mom.
    constexpr double kBeta2 = 0.99;
    if (i < 0) return std::pair{p_.cycle_min_mom, kBeta2};
    if (static_cast<double>(i) < total_) {
      return std::pair{p_.cycle_max_mom - (p_.cycle_max_mom - p_.cycle_min_mom) * scale_factor(i), kBeta2};
    }
    if (skip_mom_decay_) return std::pair{p_.cycle_max_mom, kBeta2};
    return std::pair{p_.cycle_max_mom * (1.0 + p_.decay_mom_rate * decay_interval(i)), kBeta2};
  }

 private:
  double decay_interval(std::int64_t i) const {
    double decay_iteration = static_cast<double>(i) - total_ + 1.0;
    return decay_iteration / static_cast<double>(p_.decay_step_size);
  }

  /// Position in the cycle: 0 at cycle_min_lr, 1 at the peak (Smith's triangular policy).
  double scale_factor(std::int64_t i) const {
    double batch = static_cast<double>(i + 1);
    double cycle = std::floor(1.0 + batch / total_);
    double x = 1.0 + batch / total_ - cycle;
    double scale;
    std::int64_t stairs;
    if (x <= step_ratio_) {
      scale = x / step_ratio_;
      stairs = p_.cycle_first_stair_count;
    } else {
      scale = (x - 1.0) / (step_ratio_ - 1.0);
      stairs = second_stairs_;
    }
    if (stairs > 0) {
      // Quantise from the integer position in the cycle, not from `scale`, which can land a
      // hair under an exact stair (DeepSpeed does the same).
      double in_cycle = std::fmod(batch, total_);
      double position = in_cycle <= first_ ? in_cycle * static_cast<double>(stairs) / first_
                                           : (total_ - in_cycle) * static_cast<double>(stairs) / second_;
      scale = std::floor(position) / static_cast<double>(stairs);
    }
    return scale;
  }

  Params p_;
  double min_lr_, max_lr_;
  double first_ = 0, second_ = 0, total_ = 0, step_ratio_ = 0;
  std::int64_t second_stairs_ = 0;
  bool skip_lr_decay_ = true, skip_mom_decay_ = true;
};

/// WarmupLR, and WarmupDecayLR when `total_num_steps` is given.
class WarmupLR final : public LRSchedule {
 public:
  WarmupLR(const Params& p, double max_lr, std::optional<std::int64_t> total_num_steps)
      : LRSchedule(p.last_batch_iteration), p_(p), max_lr_(max_lr), total_(total_num_steps),
        steps_(checked_warmup_steps(p.warmup_num_steps)), inverse_log_(1.0 / std::log(static_cast<double>(steps_))) {}
  std::string_view type() const override { return total_ ? "WarmupDecayLR" : "WarmupLR"; }
  double lr_at(std::int64_t i) const override {
    if (i < 0) return p_.warmup_min_lr;
    return p_.warmup_min_lr + (max_lr_ - p_.warmup_min_lr) * gamma(i);
  }

 private:
  double gamma(std::int64_t i) const {
    if (i < steps_) return warmup_gamma(p_.warmup_type, inverse_log_, i, steps_);
    if (!total_) return 1.0;
    double remaining = static_cast<double>(*total_ - i);
    return std::max(0.0, remaining / std::max(1.0, static_cast<double>(*total_ - steps_)));
  }

  Params p_;
  double max_lr_;
  std::optional<std::int64_t> total_;
  std::int64_t steps_;
  double inverse_log_;
};

class WarmupCosineLR final : public LRSchedule {
 public:
  WarmupCosineLR(const Params& p, double base_lr)
      : LRSchedule(p.last_batch_iteration), p_(p), base_lr_(base_lr),
        total_(required(p.total_num_steps, "total_num_steps")), steps_(checked_warmup_steps(p.warmup_num_steps)),
        inverse_log_(1.0 / std::log(static_cast<double>(steps_))) {}
  std::string_view type() const override { return "WarmupCosineLR"; }
  double lr_at(std::int64_t i) const override { return base_lr_ * ratio(i); }

 private:
  double ratio(std::int64_t i) const {
    if (i < 0) return 0.0;
    if (i < steps_) {
      double r = warmup_gamma(p_.warmup_type, inverse_log_, i, steps_);
      return p_.warmup_min_ratio + r * (1.0 - p_.warmup_min_ratio);
    }
    double done = static_cast<double>(i - steps_ + 1);
    double span = static_cast<double>(std::max<std::int64_t>(1, total_ - steps_));
    // Clamped so the ratio stays at cos_min_ratio past the end instead of rising again.
    double progress = std::min(1.0, done / span);
    double cosine = (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
    return std::max(0.0, p_.cos_min_ratio + (1.0 - p_.cos_min_ratio) * cosine);
  }

  Params p_;
  double base_lr_;
  std::int64_t total_;
  std::int64_t steps_;
  double inverse_log_;
};

}  // namespace

std::optional<std::pair<double, double>> LRSchedule::betas_at(std::int64_t) const { return std::nullopt; }

nlohmann::json LRSchedule::state_dict() const {
  return {{"type", std::string(type())}, {"last_batch_iteration", last_batch_iteration_}};
}

void LRSchedule::load_state_dict(const nlohmann::json& state) {
  if (!state.is_object() || !state.contains("last_batch_iteration") ||
      !state["last_batch_iteration"].is_number_integer()) {
    throw RuntimeError(format_error("scheduler state", "malformed", state.dump(),
                                    "{\"type\": ..., \"last_batch_iteration\": N}"));
  }
  if (state.contains("type") && state["type"] != std::string(type())) {
    throw RuntimeError(format_error("scheduler state", "saved by a different schedule",
                                    state["type"].dump(), "\"" + std::string(type()) + "\"",
                                    "resume with the scheduler section the checkpoint was trained with"));
  }
  last_batch_iteration_ = state["last_batch_iteration"].get<std::int64_t>();
}

std::unique_ptr<LRSchedule> make_lr_schedule(const configs::SchedulerConfig& config, double optimizer_lr) {
  const Params& p = config.params;
  switch (config.type) {
    case configs::SchedulerType::kNone: return std::make_unique<ConstantLR>(optimizer_lr);
    case configs::SchedulerType::kLRRangeTest: return std::make_unique<LRRangeTest>(p);
    case configs::SchedulerType::kOneCycle: return std::make_unique<OneCycle>(p);
    // DeepSpeed's WarmupLR defaults warmup_max_lr to the optimizer's lr; WarmupDecayLR to 0.001.
    case configs::SchedulerType::kWarmupLR:
      return std::make_unique<WarmupLR>(p, p.warmup_max_lr.value_or(optimizer_lr), std::nullopt);
    case configs::SchedulerType::kWarmupDecayLR:
      return std::make_unique<WarmupLR>(p, p.warmup_max_lr.value_or(1e-3), required(p.total_num_steps, "total_num_steps"));
    case configs::SchedulerType::kWarmupCosineLR: return std::make_unique<WarmupCosineLR>(p, optimizer_lr);
  }
  throw ConfigError(format_error("scheduler.type", "unknown schedule type"));
}

}  // namespace ds::engine::train
