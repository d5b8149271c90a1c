#include "engine/train/loss_scaler.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ds::engine::train {
namespace {

struct Row {
  bool overflow;
  double scale_after;
  int hysteresis_after;
};

void run_table(const configs::Fp16Config& options, const std::vector<Row>& rows) {
  LossScaler s(options);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    double before = s.loss_scale();
    LossScaleUpdate u = s.update(rows[i].overflow);
    EXPECT_EQ(u.skipped, rows[i].overflow) << "row " << i;
    EXPECT_EQ(u.old_scale, before) << "row " << i;
    EXPECT_EQ(u.new_scale, rows[i].scale_after) << "row " << i;
    EXPECT_EQ(s.loss_scale(), rows[i].scale_after) << "row " << i;
    EXPECT_EQ(s.hysteresis_left(), rows[i].hysteresis_after) << "row " << i;
  }
  EXPECT_EQ(s.iteration(), static_cast<std::int64_t>(rows.size()));
}

// Tables traced by hand from DeepSpeed's DynamicLossScaler.update_scale: a clean iteration k
// doubles the scale when (k - last_overflow - 1) is a positive multiple of the window.
TEST(LossScaler, HysteresisDelaysTheDecrease) {
  configs::Fp16Config o{.initial_scale_power = 4, .loss_scale_window = 3, .hysteresis = 2};
  run_table(o, {{true, 16, 1},   // first overflow only uses up hysteresis
                {true, 8, 1},    // second halves the scale
                {false, 8, 1},   {false, 8, 1}, {false, 8, 1},
                {false, 16, 2},  // 3 clean iterations after the overflow: double, hysteresis refilled
                {true, 16, 1},   {false, 16, 1},
                {true, 8, 1},    // hysteresis was not refilled by one clean step
                {false, 8, 1},   {false, 8, 1}, {false, 8, 1}, {false, 16, 2}});
}

TEST(LossScaler, ConsecutiveHysteresisRefillsOnEveryCleanStep) {
  configs::Fp16Config o{.initial_scale_power = 3, .loss_scale_window = 2, .hysteresis = 2,
                      .consecutive_hysteresis = true};
  run_table(o, {{true, 8, 1}, {false, 8, 2}, {true, 8, 1}, {true, 4, 1}, {false, 4, 2}, {false, 4, 2},
                {false, 8, 2}, {false, 8, 2}, {false, 16, 2}});
}

TEST(LossScaler, GrowsEveryWindowFromTheStart) {
  configs::Fp16Config o{.initial_scale_power = 1, .loss_scale_window = 2, .hysteresis = 1};
  run_table(o, {{false, 2, 1}, {false, 2, 1}, {false, 4, 1}, {false, 4, 1}, {false, 8, 1}, {true, 4, 1},
                {false, 4, 1}, {false, 4, 1}, {false, 8, 1}});
}

TEST(LossScaler, DecreaseStopsAtTheMinimumThenFails) {
  configs::Fp16Config o{.initial_scale_power = 3, .loss_scale_window = 100, .hysteresis = 1, .min_loss_scale = 3};
  LossScaler s(o);
  EXPECT_EQ(s.update(true).new_scale, 4);
  EXPECT_EQ(s.update(true).new_scale, 3);  // max(4 / 2, 3)
  try {
    s.update(true);
    FAIL() << "expected an error at the minimum scale";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "fp16 loss scaler: gradient overflow (inf/nan) at the minimum loss scale 3 (iteration 2); the scale "
                 "cannot be decreased any further; hint: gradients are inf/nan even at the smallest scale: lower the "
                 "learning rate, set gradient_clipping, check the data for bad samples, or train in bf16 (\"bf16\": "
                 "{\"enabled\": true}); lowering fp16.min_loss_scale only helps when the model is just at the edge of "
                 "fp16's range");
  }
}

TEST(LossScaler, StaticScaleSkipsButNeverMoves) {
  LossScaler s(configs::Fp16Config{.loss_scale = 128});
  EXPECT_FALSE(s.dynamic());
  for (int i = 0; i < 5; ++i) {
    LossScaleUpdate u = s.update(i % 2 == 0);
    EXPECT_EQ(u.skipped, i % 2 == 0);
    EXPECT_EQ(u.new_scale, 128);
  }
  EXPECT_EQ(s.skipped_steps(), 3);
}

TEST(LossScaler, DefaultsAreDeepSpeeds) {
  LossScaler s(configs::Fp16Config{.enabled = true});
  EXPECT_TRUE(s.dynamic());
  EXPECT_EQ(s.loss_scale(), 65536.0);  // 2^16
  EXPECT_EQ(s.hysteresis_left(), 2);
  LossScaleUpdate u = s.update(true);
  EXPECT_EQ(u.message, "fp16 overflow (inf/nan gradients): skipping step; loss scale 65536 kept, hysteresis 2 -> 1");
  u = s.update(true);
  EXPECT_EQ(u.message, "fp16 overflow (inf/nan gradients): skipping step; loss scale 65536 -> 32768");
  // The scale doubles on the clean step that follows 1000 clean steps since the overflow.
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(s.update(false).new_scale, 32768) << i;
  u = s.update(false);
  EXPECT_EQ(u.new_scale, 65536);
  EXPECT_EQ(u.message, "fp16 loss scale 32768 -> 65536 after 1000 steps without overflow");
}

TEST(LossScaler, StateRoundTripContinuesIdentically) {
  configs::Fp16Config o{.initial_scale_power = 5, .loss_scale_window = 3, .hysteresis = 3};
  LossScaler a(o);
  const bool pattern[] = {true, false, true, true, false, false, false, true, false, false, false, false};
  for (int i = 0; i < 6; ++i) a.update(pattern[i]);
  LossScaler b(o);
  b.load_state_dict(a.state_dict());
  for (int i = 6; i < 12; ++i) {
    EXPECT_EQ(a.update(pattern[i]).new_scale, b.update(pattern[i]).new_scale) << i;
    EXPECT_EQ(a.hysteresis_left(), b.hysteresis_left());
  }
  LossScaler static_scaler(configs::Fp16Config{.loss_scale = 8});
  try {
    static_scaler.load_state_dict(a.state_dict());
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "loss scaler state: saved with dynamic loss scaling but the config asks for static; hint: resume with "
                 "the fp16.loss_scale the checkpoint was trained with");
  }
}

TEST(LossScaler, BadOptionsGetExactMessages) {
  struct Case {
    configs::Fp16Config config;
    const char* message;
  };
  const Case cases[] = {
      {{.loss_scale = -1}, "fp16.loss_scale: must be >= 0 (0 enables dynamic loss scaling) (got -1)"},
      {{.hysteresis = 0}, "fp16.hysteresis: must be a positive integer (got 0)"},
      {{.loss_scale_window = 0}, "fp16.loss_scale_window: must be a positive integer (got 0)"},
      {{.min_loss_scale = 0}, "fp16.min_loss_scale: must be a positive number (got 0)"},
      {{.min_loss_scale = -0.5}, "fp16.min_loss_scale: must be a positive number (got -0.5)"},
      {{.initial_scale_power = 200}, "fp16.initial_scale_power: must be between 0 and 100 (got 200)"},
      {{.initial_scale_power = -1}, "fp16.initial_scale_power: must be between 0 and 100 (got -1)"},
  };
  for (const auto& c : cases) {
    try {
      LossScaler s(c.config);
      ADD_FAILURE() << "no error for " << c.message;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

}  // namespace
}  // namespace ds::engine::train
