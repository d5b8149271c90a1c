// JSON and TOML readers together: both formats accept exactly the same configs, garbage is a
// ConfigError in either, and load_config picks the reader by extension.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

std::string error_of(const std::string& text, bool toml) {
  try {
    if (toml) parse_config_toml(text, "r.toml");
    else parse_config_json(text, "r.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigTomlReader, SameAnswersAsJson) {
  const char* json = R"({"train_batch_size": 16, "fp16": {"enabled": true, "loss_scale": 0},
    "optimizer": {"type": "Adam", "params": {"lr": 1e-4, "betas": [0.8, 0.9]}}})";
  const char* toml = "train_batch_size = 16\n[fp16]\nenabled = true\nloss_scale = 0\n"
                     "[optimizer]\ntype = \"Adam\"\n[optimizer.params]\nlr = 1e-4\nbetas = [0.8, 0.9]\n";
  EXPECT_EQ(parse_config_toml(toml), parse_config_json(json));
}

TEST(ConfigTomlReader, InvalidUtf8AndOtherGarbage) {
  EXPECT_NE(error_of("a = \"\xff\"\n", true).find("invalid TOML"), std::string::npos);
  EXPECT_NE(error_of("[[[", true).find("invalid TOML"), std::string::npos);
  EXPECT_NE(error_of("\"\xff\"", false).find("invalid JSON"), std::string::npos);
}

TEST(LoadConfig, ExtensionAndMissingFile) {
  EXPECT_THROW(load_config("/nonexistent/ds_config.json"), UsageError);
  try {
    load_config("ds_config.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "ds_config.yaml: unknown config format (got \".yaml\"); expected a .json or .toml file");
  }
}

}  // namespace
}  // namespace ds::configs
