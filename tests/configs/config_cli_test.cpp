// End to end: the built `ds config check` / `ds config convert` (DS_BINARY): exit codes, the
// printed JSON, files written, and the one-line error for a bad config.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "configs/batch.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

class ConfigCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ds_config_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result ds(const std::string& args) const {
    const fs::path err = dir_ / "stderr.txt";
    const std::string command = std::string(DS_BINARY) + " " + args + " 2>" + err.string();
    Result result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
    const int status = ::pclose(pipe);
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.err = read_file(err);
    return result;
  }

  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }

  static std::string example(const std::string& name) {
    return (fs::path(DS_SOURCE_DIR) / "configs" / "examples" / name).string();
  }

  fs::path dir_;
};

TEST_F(ConfigCli, CheckPrintsTheResolvedConfig) {
  const Result r = ds("config check " + example("zero3_bf16.json") + " --world-size 8");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["train_batch_size"], 128);  // 1 * 16 * 8
  EXPECT_EQ(j["zero_optimization"]["stage"], 3);
  EXPECT_EQ(parse_config_json(r.out, "stdout"), with_resolved_batch(load_config(example("zero3_bf16.json")), 8));
}

TEST_F(ConfigCli, CheckResolvesAutoFromAModelConfig) {
  const fs::path model = write("config.json", R"({"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12,
                                                   "n_positions": 1024, "vocab_size": 50257})");
  const Result r = ds("config check " + example("hf_trainer_auto.toml") + " --world-size 2 --steps 300 --model " +
                      model.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["train_batch_size"], 16);  // 8 (HF per-device default) * 1 * 2
  EXPECT_EQ(j["zero_optimization"]["reduce_bucket_size"], 768 * 768);
  EXPECT_EQ(j["zero_optimization"]["stage3_prefetch_bucket_size"], 530841);  // int(0.9 * 768^2)
  EXPECT_EQ(j["zero_optimization"]["stage3_param_persistence_threshold"], 7680);
  EXPECT_EQ(j["scheduler"]["params"]["total_num_steps"], 300);
  EXPECT_EQ(r.out.find("\"auto\""), std::string::npos);
}

TEST_F(ConfigCli, CheckTakesTheModelFromAPresetOrDsModel) {
  const Result flag = ds("config check " + example("hf_trainer_auto.json") + " --steps 10 --model gpt2");
  ASSERT_EQ(flag.code, 0) << flag.err;
  EXPECT_EQ(nlohmann::json::parse(flag.out)["zero_optimization"]["reduce_bucket_size"], 768 * 768);  // gpt2: n_embd 768
  const fs::path cfg = write("preset.json", R"({"train_micro_batch_size_per_gpu": 1,
      "zero_optimization": {"stage": 3, "reduce_bucket_size": "auto"}, "ds": {"model": "gpt2"}})");
  const Result from_ds = ds("config check " + cfg.string());
  ASSERT_EQ(from_ds.code, 0) << from_ds.err;
  EXPECT_EQ(nlohmann::json::parse(from_ds.out)["zero_optimization"]["reduce_bucket_size"], 768 * 768);
  const Result unknown = ds("config check " + example("hf_trainer_auto.json") + " --steps 10 --model gpt7");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("--model"), std::string::npos) << unknown.err;
}

TEST_F(ConfigCli, CheckDividesTheWorldByPipelineAndTensorParallel) {
  // pipeline_tp.json: 4 stages * autotp 2 -> 16 ranks are 2 data-parallel ranks; 512 = 4 * 64 * 2.
  const Result r = ds("config check " + example("pipeline_tp.json") + " --world-size 16");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["gradient_accumulation_steps"], 64);
  const Result bad = ds("config check " + example("pipeline_tp.json") + " --world-size 12");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err, "ds: error: " + example("pipeline_tp.json") +
                         ": --world-size is not a multiple of pipeline stages * tensor parallel * sequence parallel "
                         "(got 12 ranks, 4 * 2 * 1); expected a multiple of 8\n");
}

TEST_F(ConfigCli, BadConfigExitsTwoWithOneLine) {
  const fs::path bad = write("bad.json", R"({"train_batch_size": 8, "zero_optimization": {"stag": 2}})");
  const Result r = ds("config check " + bad.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ds: error: " + bad.string() +
                       ": zero_optimization.stag: unknown key; did you mean 'zero_optimization.stage'?\n");
}

TEST_F(ConfigCli, BatchRuleErrorAtTheGivenWorldSize) {
  const fs::path cfg = write("batch.json", R"({"train_batch_size": 32, "train_micro_batch_size_per_gpu": 4,
                                               "gradient_accumulation_steps": 2})");
  const Result r = ds("config check " + cfg.string() + " --world-size 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("batch sizes disagree (got train_batch_size=32, train_micro_batch_size_per_gpu=4, "
                       "gradient_accumulation_steps=2, data-parallel size=2)"),
            std::string::npos)
      << r.err;
}

TEST_F(ConfigCli, MissingFileExitsTwo) {
  const Result r = ds("config check " + (dir_ / "nope.json").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nope.json"), std::string::npos) << r.err;
}

TEST_F(ConfigCli, ConvertJsonTomlJsonIsLossless) {
  for (const char* name : {"zero2_cpu_offload.json", "hf_trainer_auto.json", "lr_range_test.json"}) {
    const fs::path toml = dir_ / "converted.toml", json = dir_ / "back.json";
    const Result to = ds("config convert " + example(name) + " " + toml.string());
    ASSERT_EQ(to.code, 0) << to.err;
    const Result back = ds("config convert " + toml.string() + " " + json.string());
    ASSERT_EQ(back.code, 0) << back.err;
    EXPECT_EQ(load_config(json), load_config(example(name))) << name;
    EXPECT_EQ(read_file(json), to_json(load_config(example(name)))) << name;
  }
}

TEST_F(ConfigCli, ConvertRejectsUnknownFormatWithoutWriting) {
  const Result r = ds("config convert " + example("zero1_fp16.json") + " " + (dir_ / "out.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "out.yaml"));
  EXPECT_EQ(r.err, "ds: error: " + (dir_ / "out.yaml").string() +
                       ": unknown config format (got \".yaml\"); expected a .json or .toml file\n");
}

}  // namespace
}  // namespace ds::configs
