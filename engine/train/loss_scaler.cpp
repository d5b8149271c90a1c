#include "engine/train/loss_scaler.hpp"

#include <cmath>
#include <sstream>

#include "common/error.hpp"

namespace ds::engine::train {
namespace {

std::string format_scale(double scale) {
  std::ostringstream os;
  if (scale == std::floor(scale) && std::fabs(scale) < 1e18) {
    os << static_cast<std::int64_t>(scale);
  } else {
    os << scale;
  }
  return os.str();
}

void check_options(const configs::Fp16Config& o) {
  auto fail = [](const std::string& key, const std::string& what, const std::string& got) {
    throw ConfigError(format_error("fp16." + key, what, got));
  };
  if (!std::isfinite(o.loss_scale) || o.loss_scale < 0) {
    fail("loss_scale", "must be >= 0 (0 enables dynamic loss scaling)", format_scale(o.loss_scale));
  }
  if (o.initial_scale_power < 0 || o.initial_scale_power > 100) {
    fail("initial_scale_power", "must be between 0 and 100", std::to_string(o.initial_scale_power));
  }
  if (o.loss_scale_window <= 0) {
    fail("loss_scale_window", "must be a positive integer", std::to_string(o.loss_scale_window));
  }
  if (o.hysteresis <= 0) fail("hysteresis", "must be a positive integer", std::to_string(o.hysteresis));
  if (!std::isfinite(o.min_loss_scale) || o.min_loss_scale <= 0) {
    fail("min_loss_scale", "must be a positive number", format_scale(o.min_loss_scale));
  }
}

std::int64_t state_int(const nlohmann::json& state, const char* key) {
  if (!state.contains(key) || !state[key].is_number_integer()) {
    throw RuntimeError(format_error("loss scaler state", std::string("missing or non-integer '") + key + "'",
                                    state.dump()));
  }
  return state[key].get<std::int64_t>();
}

}  // namespace

LossScaler::LossScaler(const configs::Fp16Config& options) : options_(options) {
  check_options(options_);
  dynamic_ = options_.loss_scale == 0.0;
  cur_scale_ = dynamic_ ? std::ldexp(1.0, options_.initial_scale_power) : options_.loss_scale;
  cur_hysteresis_ = options_.hysteresis;
}

LossScaleUpdate LossScaler::update(bool overflow) {
  LossScaleUpdate u;
  u.overflow = overflow;
  u.skipped = overflow;
  u.old_scale = cur_scale_;
  if (overflow) ++skipped_steps_;
  if (!dynamic_) {
    if (overflow) u.message = "fp16 overflow (inf/nan gradients): skipping step; static loss scale " + format_scale(cur_scale_);
    ++cur_iter_;
    u.new_scale = cur_scale_;
    return u;
  }
  if (overflow) {
    if (options_.hysteresis == 1 || cur_hysteresis_ == 1) {
      if (cur_scale_ == options_.min_loss_scale) {
        throw RuntimeError(format_error(
            "fp16 loss scaler",
            "gradient overflow (inf/nan) at the minimum loss scale " + format_scale(cur_scale_) + " (iteration " +
                std::to_string(cur_iter_) + "); the scale cannot be decreased any further",
            "", "",
            "gradients are inf/nan even at the smallest scale: lower the learning rate, set gradient_clipping, "
            "check the data for bad samples, or train in bf16 (\"bf16\": {\"enabled\": true}); lowering "
            "fp16.min_loss_scale only helps when the model is just at the edge of fp16's range"));
      }
      double next = std::max(cur_scale_ / 2.0, options_.min_loss_scale);
      u.message = "fp16 overflow (inf/nan gradients): skipping step; loss scale " + format_scale(cur_scale_) + " -> " +
                  format_scale(next);
      cur_scale_ = next;
    } else {
      u.message = "fp16 overflow (inf/nan gradients): skipping step; loss scale " + format_scale(cur_scale_) +
                  " kept, hysteresis " + std::to_string(cur_hysteresis_) + " -> " + std::to_string(cur_hysteresis_ - 1);
      --cur_hysteresis_;
    }
    last_overflow_iter_ = cur_iter_;
  } else {
    if (options_.consecutive_hysteresis) cur_hysteresis_ = options_.hysteresis;
    std::int64_t stable = cur_iter_ - last_overflow_iter_ - 1;
    if (stable > 0 && stable % options_.loss_scale_window == 0) {
      if (!options_.consecutive_hysteresis) cur_hysteresis_ = options_.hysteresis;
      u.message = "fp16 loss scale " + format_scale(cur_scale_) + " -> " + format_scale(cur_scale_ * 2.0) + " after " +
                  std::to_string(options_.loss_scale_window) + " steps without overflow";
      cur_scale_ *= 2.0;
    }
  }
  ++cur_iter_;
  u.new_scale = cur_scale_;
  return u;
}

nlohmann::json LossScaler::state_dict() const {
  return {{"dynamic", dynamic_},
          {"cur_scale", cur_scale_},
          {"cur_iter", cur_iter_},
          {"last_overflow_iter", last_overflow_iter_},
          {"cur_hysteresis", cur_hysteresis_},
          {"skipped_steps", skipped_steps_}};
}

void LossScaler::load_state_dict(const nlohmann::json& state) {
  if (!state.is_object() || !state.contains("dynamic") || !state["dynamic"].is_boolean() ||
      !state.contains("cur_scale") || !state["cur_scale"].is_number()) {
    throw RuntimeError(format_error("loss scaler state", "malformed", state.dump()));
  }
  if (state["dynamic"].get<bool>() != dynamic_) {
    throw RuntimeError(format_error("loss scaler state",
                                    std::string("saved with ") + (state["dynamic"].get<bool>() ? "dynamic" : "static") +
                                        " loss scaling but the config asks for " + (dynamic_ ? "dynamic" : "static"),
                                    "", "", "resume with the fp16.loss_scale the checkpoint was trained with"));
  }
  cur_scale_ = state["cur_scale"].get<double>();
  cur_iter_ = state_int(state, "cur_iter");
  last_overflow_iter_ = state_int(state, "last_overflow_iter");
  cur_hysteresis_ = static_cast<int>(state_int(state, "cur_hysteresis"));
  skipped_steps_ = state_int(state, "skipped_steps");
}

}  // namespace ds::engine::train
