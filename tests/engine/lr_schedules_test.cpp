#include "engine/train/lr_schedules.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::train {
namespace {

using nlohmann::json;
using configs::SchedulerConfig;
using configs::SchedulerType;

// The JSON cases of lr_reference.py as a configs::SchedulerConfig (the config reader's own tests
// cover key names and types; here only the values matter).
SchedulerConfig scheduler_from_json(const json& section) {
  static const std::map<std::string, SchedulerType> kTypes = {
      {"WarmupLR", SchedulerType::kWarmupLR},       {"WarmupDecayLR", SchedulerType::kWarmupDecayLR},
      {"WarmupCosineLR", SchedulerType::kWarmupCosineLR}, {"OneCycle", SchedulerType::kOneCycle},
      {"LRRangeTest", SchedulerType::kLRRangeTest}};
  SchedulerConfig c;
  c.type = kTypes.at(section.at("type").get<std::string>());
  auto& p = c.params;
  const json params = section.value("params", json::object());
  for (const auto& [key, v] : params.items()) {
    if (key == "warmup_min_lr") p.warmup_min_lr = v;
    else if (key == "warmup_max_lr") p.warmup_max_lr = v.get<double>();
    else if (key == "warmup_num_steps") p.warmup_num_steps = v;
    else if (key == "warmup_type") p.warmup_type = v == "log" ? configs::WarmupType::kLog : configs::WarmupType::kLinear;
    else if (key == "total_num_steps") p.total_num_steps = v.get<std::int64_t>();
    else if (key == "warmup_min_ratio") p.warmup_min_ratio = v;
    else if (key == "cos_min_ratio") p.cos_min_ratio = v;
    else if (key == "cycle_min_lr") p.cycle_min_lr = v.get<double>();
    else if (key == "cycle_max_lr") p.cycle_max_lr = v.get<double>();
    else if (key == "decay_lr_rate") p.decay_lr_rate = v;
    else if (key == "cycle_first_step_size") p.cycle_first_step_size = v;
    else if (key == "cycle_second_step_size") p.cycle_second_step_size = v.get<std::int64_t>();
    else if (key == "cycle_first_stair_count") p.cycle_first_stair_count = v;
    else if (key == "cycle_second_stair_count") p.cycle_second_stair_count = v.get<std::int64_t>();
    else if (key == "decay_step_size") p.decay_step_size = v;
    else if (key == "cycle_momentum") p.cycle_momentum = v;
    else if (key == "cycle_min_mom") p.cycle_min_mom = v;
    else if (key == "cycle_max_mom") p.cycle_max_mom = v;
    else if (key == "decay_mom_rate") p.decay_mom_rate = v;
    else if (key == "lr_range_test_min_lr") p.lr_range_test_min_lr = v;
    else if (key == "lr_range_test_step_size") p.lr_range_test_step_size = v;
    else if (key == "lr_range_test_step_rate") p.lr_range_test_step_rate = v;
    else if (key == "lr_range_test_staircase") p.lr_range_test_staircase = v;
    else throw std::runtime_error("test converter: unknown key " + key);
  }
  return c;
}

std::unique_ptr<LRSchedule> build(const std::string& text, double optimizer_lr = 0.1) {
  return make_lr_schedule(scheduler_from_json(json::parse(text)), optimizer_lr);
}

std::string error_of(const std::string& text) {
  try {
    build(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// Each schedule against tests/engine/reference/lr_reference.py, which computes the sequences from
// the published definitions; iteration -1 is the value before the first step.
TEST(LrSchedules, MatchIndependentPythonReference) {
  DS_RUN_REFERENCE_OR_SKIP(out, "lr_reference.py", "");
  json ref = json::parse(out);
  ASSERT_GE(ref["cases"].size(), 10u);
  for (const auto& c : ref["cases"]) {
    SCOPED_TRACE(c["section"].dump());
    auto s = make_lr_schedule(scheduler_from_json(c["section"]), c["optimizer_lr"].get<double>());
    const auto& lrs = c["lrs"];
    for (std::size_t k = 0; k < lrs.size(); ++k) {
      std::int64_t i = static_cast<std::int64_t>(k) - 1;
      ASSERT_EQ(s->last_batch_iteration(), i);
      double want = lrs[k].get<double>();
      EXPECT_NEAR(s->lr(), want, 1e-12 * std::max(1.0, std::fabs(want))) << "iteration " << i;
      if (c.contains("betas")) {
        auto betas = s->betas();
        if (c["betas"][k].is_null()) {
          EXPECT_FALSE(betas.has_value()) << "iteration " << i;
        } else {
          ASSERT_TRUE(betas.has_value()) << "iteration " << i;
          EXPECT_NEAR(betas->first, c["betas"][k][0].get<double>(), 1e-12) << "iteration " << i;
          EXPECT_EQ(betas->second, 0.99);
        }
      }
      s->step();
    }
  }
}

// Hand-computed points, so the test stands even without Python.
TEST(LrSchedules, HandComputedValues) {
  auto linear = build(R"({"type":"WarmupLR","params":{"warmup_max_lr":0.01,"warmup_num_steps":10,
                         "warmup_type":"linear"}})");
  EXPECT_DOUBLE_EQ(linear->lr_at(-1), 0.0);
  EXPECT_DOUBLE_EQ(linear->lr_at(4), 0.004);    // 0.01 * 4/10
  EXPECT_DOUBLE_EQ(linear->lr_at(10), 0.01);
  auto log = build(R"({"type":"WarmupLR","params":{"warmup_max_lr":0.01,"warmup_num_steps":100}})");
  EXPECT_DOUBLE_EQ(log->lr_at(0), 0.0);         // log(1) = 0
  EXPECT_NEAR(log->lr_at(9), 0.005, 1e-15);     // 0.01 * log(10)/log(100)
  auto decay = build(R"({"type":"WarmupDecayLR","params":{"total_num_steps":20,"warmup_max_lr":0.01,
                        "warmup_num_steps":10}})");
  EXPECT_DOUBLE_EQ(decay->lr_at(15), 0.005);    // 0.01 * (20-15)/(20-10)
  EXPECT_DOUBLE_EQ(decay->lr_at(25), 0.0);
  auto cosine = build(R"({"type":"WarmupCosineLR","params":{"total_num_steps":12,"warmup_num_steps":2,
                         "cos_min_ratio":0.0}})", 0.1);
  EXPECT_DOUBLE_EQ(cosine->lr_at(-1), 0.0);
  EXPECT_NEAR(cosine->lr_at(6), 0.05, 1e-15);   // progress (6-2+1)/10 = 0.5 -> half of 0.1
  EXPECT_NEAR(cosine->lr_at(100), 0.0, 1e-18);  // clamped at the end
  auto cycle = build(R"({"type":"OneCycle","params":{"cycle_min_lr":0.1,"cycle_max_lr":0.5,
                        "cycle_first_step_size":4}})");
  EXPECT_DOUBLE_EQ(cycle->lr_at(1), 0.3);       // batch 2 of 4 rising steps: halfway
  EXPECT_DOUBLE_EQ(cycle->lr_at(3), 0.5);
  EXPECT_DOUBLE_EQ(cycle->betas_at(3)->first, 0.8);
  EXPECT_DOUBLE_EQ(cycle->lr_at(7), 0.1);
  auto range = build(R"({"type":"LRRangeTest","params":{"lr_range_test_min_lr":0.001,
                        "lr_range_test_step_size":10,"lr_range_test_step_rate":3,"lr_range_test_staircase":true}})");
  EXPECT_DOUBLE_EQ(range->lr_at(8), 0.001);     // floor(9/10) = 0
  EXPECT_DOUBLE_EQ(range->lr_at(9), 0.004);     // 0.001 * (1 + 3*1)
}

TEST(LrSchedules, DefaultsFollowDeepSpeedConstructors) {
  // WarmupLR's max defaults to the optimizer lr; WarmupDecayLR's to 0.001.
  EXPECT_DOUBLE_EQ(build(R"({"type":"WarmupLR"})", 0.02)->lr_at(5000), 0.02);
  EXPECT_DOUBLE_EQ(build(R"({"type":"WarmupDecayLR","params":{"total_num_steps":100000}})", 0.02)->lr_at(1000),
                   0.001 * (100000.0 - 1000) / (100000 - 1000));
  EXPECT_DOUBLE_EQ(build(R"({"type":"LRRangeTest"})")->lr_at(1999), 0.002);
  auto cosine = build(R"({"type":"WarmupCosineLR","params":{"total_num_steps":3000}})", 1.0);
  EXPECT_NEAR(cosine->lr_at(2999), 1e-4, 1e-15);  // cos_min_ratio 0.0001 at the end
  auto constant = make_lr_schedule(SchedulerConfig{}, 0.25);
  EXPECT_EQ(constant->type(), "Constant");
  EXPECT_DOUBLE_EQ(constant->lr_at(77), 0.25);
  EXPECT_EQ(build(R"({"type":"WarmupDecayLR","params":{"total_num_steps":10}})")->type(), "WarmupDecayLR");
}

TEST(LrSchedules, StateRestoresTheCounter) {
  auto a = build(R"({"type":"WarmupCosineLR","params":{"total_num_steps":50,"warmup_num_steps":5}})");
  for (int i = 0; i < 17; ++i) a->step();
  json state = a->state_dict();
  EXPECT_EQ(state, json::parse(R"({"type":"WarmupCosineLR","last_batch_iteration":16})"));
  auto b = build(R"({"type":"WarmupCosineLR","params":{"total_num_steps":50,"warmup_num_steps":5}})");
  b->load_state_dict(state);
  EXPECT_EQ(b->lr(), a->lr());
  auto other = build(R"({"type":"WarmupLR"})");
  try {
    other->load_state_dict(state);
    FAIL() << "expected an error";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "scheduler state: saved by a different schedule (got \"WarmupCosineLR\"); expected \"WarmupLR\"; "
                 "hint: resume with the scheduler section the checkpoint was trained with");
  }
}

TEST(LrSchedules, ValuesDeepSpeedCannotRunGetExactMessages) {
  struct Case {
    const char* config;
    const char* message;
  };
  const Case cases[] = {
      {R"({"type":"WarmupLR","params":{"warmup_num_steps":0}})",
       "scheduler.params.warmup_num_steps: must be a positive integer (got 0)"},
      {R"({"type":"WarmupCosineLR","params":{"warmup_num_steps":-5,"total_num_steps":10}})",
       "scheduler.params.warmup_num_steps: must be a positive integer (got -5)"},
      {R"({"type":"WarmupDecayLR","params":{}})",
       "scheduler.params.total_num_steps: missing; this schedule has no default for it"},
      {R"({"type":"WarmupCosineLR","params":{}})",
       "scheduler.params.total_num_steps: missing; this schedule has no default for it"},
      {R"({"type":"OneCycle","params":{"cycle_max_lr":0.1}})",
       "scheduler.params.cycle_min_lr: missing; this schedule has no default for it"},
      {R"({"type":"OneCycle","params":{"cycle_min_lr":0.1}})",
       "scheduler.params.cycle_max_lr: missing; this schedule has no default for it"},
      {R"({"type":"OneCycle","params":{"cycle_min_lr":0.01,"cycle_max_lr":0.1,"cycle_first_step_size":0}})",
       "scheduler.params.cycle_first_step_size: must be a positive integer (got 0)"},
      {R"({"type":"OneCycle","params":{"cycle_min_lr":0.01,"cycle_max_lr":0.1,"cycle_second_step_size":-2}})",
       "scheduler.params.cycle_second_step_size: must not be negative (got -2)"},
      {R"({"type":"OneCycle","params":{"cycle_min_lr":0.01,"cycle_max_lr":0.1,"decay_step_size":-1}})",
       "scheduler.params.decay_step_size: must not be negative (got -1)"},
      {R"({"type":"LRRangeTest","params":{"lr_range_test_step_size":-3}})",
       "scheduler.params.lr_range_test_step_size: must be a positive integer (got -3)"},
  };
  for (const auto& c : cases) EXPECT_EQ(error_of(c.config), c.message) << c.config;
}

}  // namespace
}  // namespace ds::engine::train
