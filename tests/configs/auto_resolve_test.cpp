// "auto" resolution, rule by rule (Hugging Face's HfTrainerDeepSpeedConfig; docs/config.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "configs/auto_resolve.hpp"
#include "configs/batch.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

namespace fs = std::filesystem;

Config hf_example() { return load_config(fs::path(DS_SOURCE_DIR) / "configs/examples/hf_trainer_auto.json"); }

std::string error_of(const Config& config, const AutoContext& context) {
  try {
    resolve_auto(config, context);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigAutoResolve, HfTrainerExampleWithDefaults) {
  AutoContext context;
  context.hidden_size = 4096;
  context.dp_size = 8;
  context.total_steps = 1000;
  const Config config = resolve_auto(hf_example(), context);
  EXPECT_FALSE(config.has_auto());
  // Batch: micro = per_device_train_batch_size (8), accumulation 1, tbs = 8 * 8 * 1.
  EXPECT_EQ(config.train_micro_batch_size_per_gpu, 8);
  EXPECT_EQ(config.gradient_accumulation_steps, 1);
  EXPECT_EQ(config.train_batch_size, 64);
  EXPECT_DOUBLE_EQ(config.gradient_clipping, 1.0);  // max_grad_norm
  // Optimizer: learning_rate 5e-5, (adam_beta1, adam_beta2), adam_epsilon, weight_decay.
  EXPECT_DOUBLE_EQ(config.optimizer.params.lr, 5e-5);
  EXPECT_EQ(config.optimizer.params.betas, (std::array<double, 2>{0.9, 0.999}));
  EXPECT_DOUBLE_EQ(config.optimizer.params.eps, 1e-8);
  EXPECT_DOUBLE_EQ(config.optimizer.params.weight_decay, 0.0);
  // Scheduler: warmup from 0 to the learning rate over warmup_steps; total = run length.
  EXPECT_DOUBLE_EQ(config.scheduler.params.warmup_min_lr, 0.0);
  EXPECT_EQ(config.scheduler.params.warmup_max_lr, 5e-5);
  EXPECT_EQ(config.scheduler.params.warmup_num_steps, 0);
  EXPECT_EQ(config.scheduler.params.total_num_steps, 1000);
  // Precision: fp32 unless a dtype is given.
  EXPECT_FALSE(config.fp16.enabled);
  EXPECT_FALSE(config.bf16.enabled);
  // ZeRO buckets from the hidden size: h^2, int(0.9 h^2), 10 h.
  EXPECT_EQ(config.zero_optimization.reduce_bucket_size, 4096 * 4096);
  EXPECT_EQ(config.zero_optimization.stage3_prefetch_bucket_size, 15099494);
  EXPECT_EQ(config.zero_optimization.stage3_param_persistence_threshold, 40960);
}

TEST(ConfigAutoResolve, ResolvedValuesAreWrittenInsteadOfAuto) {
  AutoContext context;
  context.hidden_size = 1024;
  context.total_steps = 10;
  const std::string json = to_json(resolve_auto(hf_example(), context));
  EXPECT_EQ(json.find("\"auto\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"reduce_bucket_size\": 1048576"), std::string::npos) << json;
}

TEST(ConfigAutoResolve, ContextOverridesTrainerDefaults) {
  AutoContext context;
  context.hidden_size = 768;
  context.dp_size = 2;
  context.per_device_train_batch_size = 4;
  context.gradient_accumulation_steps = 8;
  context.learning_rate = 3e-4;
  context.adam_beta2 = 0.95;
  context.warmup_steps = 100;
  context.dtype = DType::kBf16;
  Config input = hf_example();
  input.ds.steps = 2000;  // total_num_steps falls back to ds.steps
  const Config config = resolve_auto(input, context);
  EXPECT_EQ(resolve_batch(config, 2), (ResolvedBatch{64, 4, 8}));
  EXPECT_EQ(config.optimizer.params.betas, (std::array<double, 2>{0.9, 0.95}));
  EXPECT_EQ(config.scheduler.params.warmup_max_lr, 3e-4);
  EXPECT_EQ(config.scheduler.params.warmup_num_steps, 100);
  EXPECT_EQ(config.scheduler.params.total_num_steps, 2000);
  EXPECT_TRUE(config.bf16.enabled);
  EXPECT_FALSE(config.fp16.enabled);
}

TEST(ConfigAutoResolve, FixedTrainBatchSizeKeepsItsMeaning) {
  const Config input = parse_config_json(
      R"({"train_batch_size": 256, "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": 4})");
  AutoContext context;
  context.dp_size = 8;
  const Config config = resolve_auto(input, context);
  EXPECT_EQ(config.train_micro_batch_size_per_gpu, 8);  // 256 / (4 * 8), not the trainer default
  const Config gas_auto = resolve_auto(
      parse_config_json(R"({"train_batch_size": 256, "train_micro_batch_size_per_gpu": 2, "gradient_accumulation_steps": "auto"})"),
      context);
  EXPECT_EQ(gas_auto.gradient_accumulation_steps, 16);
}

TEST(ConfigAutoResolve, BatchRuleViolationAfterResolution) {
  const Config input = parse_config_json(R"({"train_batch_size": 100, "train_micro_batch_size_per_gpu": "auto"})");
  AutoContext context;
  context.dp_size = 8;  // micro = per_device (8); accumulation derived 100 / 64 = 1 -> 64 != 100
  EXPECT_NE(error_of(input, context).find("batch sizes disagree"), std::string::npos);
}

TEST(ConfigAutoResolve, DtypeFollowsExplicitPrecisionSection) {
  const Config input = parse_config_json(R"({"bf16": {"enabled": true}, "fp16": {"enabled": "auto"}})");
  const Config config = resolve_auto(input, AutoContext{});
  EXPECT_FALSE(config.fp16.enabled);
  EXPECT_TRUE(config.bf16.enabled);
  const Config from_ds = resolve_auto(parse_config_json(R"({"fp16": {"enabled": "auto"}, "ds": {"dtype": "fp16"}})"),
                                      AutoContext{});
  EXPECT_TRUE(from_ds.fp16.enabled);
}

TEST(ConfigAutoResolve, MissingHiddenSizeNamesTheKeys) {
  AutoContext context;
  context.total_steps = 5;
  EXPECT_EQ(error_of(hf_example(), context),
            "config: zero_optimization.reduce_bucket_size, zero_optimization.stage3_prefetch_bucket_size, "
            "zero_optimization.stage3_param_persistence_threshold: \"auto\" needs the model's hidden size; expected a "
            "model; hint: pass --model (a preset or a config.json), set ds.model, or write numbers");
}

TEST(ConfigAutoResolve, MissingRunLength) {
  AutoContext context;
  context.hidden_size = 64;
  context.source_name = "hf.json";
  EXPECT_EQ(error_of(hf_example(), context),
            "hf.json: scheduler.params.total_num_steps: \"auto\" needs the run length; expected a number of steps; "
            "hint: set ds.steps (or write the number here)");
}

TEST(ConfigAutoResolve, PipelineStagesAuto) {
  const Config input = parse_config_json(R"({"pipeline": {"stages": "auto"}})");
  EXPECT_TRUE(input.is_auto("pipeline.stages"));
  EXPECT_EQ(resolve_auto(input, AutoContext{}).pipeline.stages, 1);
  AutoContext four;
  four.pipeline_stages = 4;
  EXPECT_EQ(resolve_auto(input, four).pipeline.stages, 4);
}

TEST(ConfigAutoResolve, ConfigWithoutAutoIsUnchanged) {
  const Config input = load_config(fs::path(DS_SOURCE_DIR) / "configs/examples/zero2_bf16.json");
  EXPECT_EQ(resolve_auto(input, AutoContext{}), input);
}

// ctest runs this fixture's tests in parallel processes: each writes its own file.
class HfConfigFile : public ::testing::Test {
 protected:
  fs::path write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override { fs::remove(path_); }

 private:
  fs::path path_ = fs::temp_directory_path() / ("ds_auto_resolve_" + std::to_string(::getpid()) + ".json");
};

TEST_F(HfConfigFile, ReadsTheHiddenSizeUnderItsVariousNames) {
  EXPECT_EQ(hidden_size_from_hf_config(write(R"({"model_type": "llama", "hidden_size": 4096})")), 4096);
  EXPECT_EQ(hidden_size_from_hf_config(write(R"({"model_type": "gpt2", "n_embd": 768})")), 768);
  EXPECT_EQ(hidden_size_from_hf_config(write(R"({"model_type": "t5", "d_model": 512})")), 512);
  EXPECT_EQ(hidden_size_from_hf_config(write(R"({"hidden_sizes": [64, 128, 320, 512]})")), 512);
  EXPECT_EQ(hidden_size_from_hf_config(write(R"({"text_config": {"hidden_size": 2048}})")), 2048);
}

TEST_F(HfConfigFile, ExplainsWhatIsMissing) {
  const fs::path path = write(R"({"model_type": "mystery"})");
  try {
    hidden_size_from_hf_config(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path.string() + ": no hidden size; expected \"hidden_size\", \"n_embd\", "
                                                     "\"d_model\" or \"hidden_sizes\"; hint: write the \"auto\" "
                                                     "values as numbers instead");
  }
  EXPECT_THROW(hidden_size_from_hf_config(write("not json")), ConfigError);
  EXPECT_THROW(hidden_size_from_hf_config("/nonexistent/config.json"), UsageError);
}

}  // namespace
}  // namespace ds::configs
