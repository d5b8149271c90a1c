// Writers: lossless JSON <-> TOML over every config in configs/examples, user keys only by
// default, every key on request, non-default keys of configs built in code, atomic save.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "configs/auto_resolve.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<fs::path> example_files() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fs::path(DS_SOURCE_DIR) / "configs" / "examples")) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Dotted paths of every non-null leaf (and empty object) of a JSON tree.
void leaf_paths(const Json& j, const std::string& prefix, std::set<std::string>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [key, value] : j.items()) leaf_paths(value, prefix.empty() ? key : prefix + "." + key, out);
  } else if (!j.is_null()) {
    out.insert(prefix);
  }
}

class ConfigExampleTest : public ::testing::TestWithParam<fs::path> {};

TEST_P(ConfigExampleTest, JsonTomlJsonIsLossless) {
  const Config config = load_config(GetParam());
  const std::string toml = to_toml(config);
  const Config from_toml = parse_config_toml(toml, "converted.toml");
  EXPECT_EQ(from_toml, config) << toml;
  EXPECT_EQ(to_json(from_toml), to_json(config));
  EXPECT_EQ(parse_config_json(to_json(config), "converted.json"), config);
}

// The original file as a JSON tree (TOML read with toml++ directly, not through ds).
Json original_tree(const fs::path& path) {
  if (path.extension() == ".json") return Json::parse(read_file(path));
  std::function<Json(const toml::node&)> convert = [&](const toml::node& node) -> Json {
    if (const auto* table = node.as_table()) {
      Json out = Json::object();
      for (const auto& [key, value] : *table) out[std::string(key.str())] = convert(value);
      return out;
    }
    if (const auto* array = node.as_array()) {
      Json out = Json::array();
      for (const auto& element : *array) out.push_back(convert(element));
      return out;
    }
    if (const auto* text = node.as_string()) return text->get();
    if (const auto* integer = node.as_integer()) return integer->get();
    if (const auto* number = node.as_floating_point()) return number->get();
    return node.as_boolean()->get();
  };
  return convert(toml::parse_file(path.string()));
}

TEST_P(ConfigExampleTest, WritesTheKeysTheUserWrote) {
  std::set<std::string> written_by_user, written_back;
  leaf_paths(original_tree(GetParam()), "", written_by_user);
  leaf_paths(Json::parse(to_json(load_config(GetParam()))), "", written_back);
  EXPECT_EQ(written_back, written_by_user);
}

TEST_P(ConfigExampleTest, AllKeysModeRoundTrips) {
  Config config = load_config(GetParam());
  if (config.has_auto()) {  // all-keys output is for resolved configs
    AutoContext context;
    context.hidden_size = 1024;
    context.total_steps = 100;
    config = resolve_auto(config, context);
  }
  Config back = parse_config_json(to_json(config, {.all_keys = true}), "all.json");
  back.provenance = config.provenance;
  EXPECT_EQ(back, config);
}

INSTANTIATE_TEST_SUITE_P(ConfigExamples, ConfigExampleTest, ::testing::ValuesIn(example_files()), [](const auto& info) {
  std::string name = info.param.filename().string();
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
});

TEST(ConfigExamples, TomlTwinsMatchTheirJson) {
  int pairs = 0;
  for (const auto& path : example_files()) {
    if (path.extension() != ".toml") continue;
    fs::path json = path;
    json.replace_extension(".json");
    ASSERT_TRUE(fs::exists(json)) << json;
    EXPECT_EQ(load_config(path), load_config(json)) << path;
    ++pairs;
  }
  EXPECT_GE(pairs, 2);
}

TEST(ConfigExamples, ThereAreAtLeastEightRealisticOnes) {
  int json = 0;
  std::set<SchedulerType> schedulers;
  std::set<int> stages;
  for (const auto& path : example_files()) {
    if (path.extension() != ".json") continue;
    ++json;
    const Config config = load_config(path);
    schedulers.insert(config.scheduler.type);
    stages.insert(config.zero_optimization.stage);
  }
  EXPECT_GE(json, 8);
  for (auto type : {SchedulerType::kWarmupLR, SchedulerType::kWarmupDecayLR, SchedulerType::kWarmupCosineLR,
                    SchedulerType::kOneCycle, SchedulerType::kLRRangeTest}) {
    EXPECT_TRUE(schedulers.count(type)) << to_string(type);
  }
  EXPECT_EQ(stages, (std::set<int>{0, 1, 2, 3}));
}

TEST(ConfigWriters, ConfigBuiltInCodeWritesItsNonDefaults) {
  Config config;
  config.zero_optimization.stage = 2;
  config.zero_optimization.offload_optimizer.device = OffloadDevice::kCpu;
  config.optimizer.type = OptimizerType::kAdamW;
  config.optimizer.params = optimizer_defaults(OptimizerType::kAdamW);
  config.optimizer.params.lr = 3e-4;
  config.train_micro_batch_size_per_gpu = 4;
  EXPECT_EQ(Json::parse(to_json(config)), Json::parse(R"({
    "train_micro_batch_size_per_gpu": 4,
    "optimizer": {"type": "AdamW", "params": {"lr": 0.0003}},
    "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}}})"));
}

TEST(ConfigWriters, ExplicitDefaultsAreKept) {
  const Config config = parse_config_json(R"({"zero_optimization": {"stage": 0}, "fp16": {}})");
  EXPECT_EQ(to_json(config), "{\n  \"fp16\": {},\n  \"zero_optimization\": {\n    \"stage\": 0\n  }\n}\n");
  EXPECT_EQ(to_toml(config), "[fp16]\n\n[zero_optimization]\nstage = 0\n");
  EXPECT_EQ(parse_config_toml(to_toml(config)), config);
}

TEST(ConfigWriters, SaveAndLoadByExtension) {
  const fs::path dir = fs::temp_directory_path() / ("ds_configs_writers_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Config config = load_config(fs::path(DS_SOURCE_DIR) / "configs/examples/zero2_bf16.json");
  save_config(config, dir / "out.toml");
  save_config(config, dir / "out.json");
  EXPECT_EQ(load_config(dir / "out.toml"), config);
  EXPECT_EQ(load_config(dir / "out.json"), config);
  try {
    save_config(config, dir / "out.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "out.yaml").string() +
                                         ": unknown config format (got \".yaml\"); expected a .json or .toml file");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ds::configs
