// load_text_config on model folders written by the test: every accepted shape of each key, the
// chat_template.jinja precedence, missing files, and exact messages for wrong types.
#include "engine/chat_template/model_text_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"

namespace ds::engine::chat_template {
namespace {

namespace fs = std::filesystem;

class ModelTextConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ds_text_config_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

  fs::path dir_;
};

TEST_F(ModelTextConfigTest, EmptyFolderGivesEmptyConfig) {
  const ModelTextConfig c = load_text_config(dir_);
  EXPECT_FALSE(c.chat_template);
  EXPECT_FALSE(c.bos_token);
  EXPECT_FALSE(c.model_max_length);
  EXPECT_TRUE(c.generation.eos_token_ids.empty());
}

TEST_F(ModelTextConfigTest, ReadsTokensAsStringsOrAddedTokenObjects) {
  write("tokenizer_config.json", R"({"chat_template": "{{ bos_token }}", "bos_token": "<s>",
      "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false},
      "pad_token": null, "add_bos_token": true, "model_max_length": 4096})");
  const ModelTextConfig c = load_text_config(dir_);
  EXPECT_EQ(c.chat_template.value_or(""), "{{ bos_token }}");
  EXPECT_EQ(c.chat_template_origin, (dir_ / "tokenizer_config.json").string());
  EXPECT_EQ(c.bos_token.value_or(""), "<s>");
  EXPECT_EQ(c.eos_token.value_or(""), "</s>");
  EXPECT_FALSE(c.pad_token);
  EXPECT_EQ(c.add_bos_token, true);
  EXPECT_EQ(c.model_max_length, 4096);
}

TEST_F(ModelTextConfigTest, NoLimitPlaceholderMeansNoLimit) {
  write("tokenizer_config.json", R"({"model_max_length": 1000000000000000019884624838656})");
  EXPECT_FALSE(load_text_config(dir_).model_max_length);
}

TEST_F(ModelTextConfigTest, TemplateListPicksDefault) {
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"},
      {"name": "default", "template": "D"}]})");
  const ModelTextConfig c = load_text_config(dir_);
  EXPECT_EQ(c.chat_template.value_or(""), "D");
  ASSERT_EQ(c.named_chat_templates.size(), 2u);
  EXPECT_EQ(c.named_chat_templates[0].first, "tool_use");
  EXPECT_EQ(pick_chat_template(c, true).value_or(""), "T");  // tools: the tool_use template
  EXPECT_EQ(pick_chat_template(c, false).value_or(""), "D");
  EXPECT_FALSE(pick_chat_template(ModelTextConfig{}, true));
}

TEST_F(ModelTextConfigTest, ChatTemplateJinjaWins) {
  write("tokenizer_config.json", R"({"chat_template": "old"})");
  write("chat_template.jinja", "new\n");
  const ModelTextConfig c = load_text_config(dir_);
  EXPECT_EQ(c.chat_template.value_or(""), "new\n");
  EXPECT_EQ(c.chat_template_origin, (dir_ / "chat_template.jinja").string());
}

TEST_F(ModelTextConfigTest, ReadsGenerationDefaults) {
  write("generation_config.json", R"({"bos_token_id": 128000, "eos_token_id": [128001, 128009], "do_sample": true,
      "temperature": 0.6, "top_p": 0.9, "top_k": 50, "repetition_penalty": 1, "max_new_tokens": 256,
      "max_length": 4096, "pad_token_id": null})");
  const GenerationDefaults g = load_text_config(dir_).generation;
  EXPECT_EQ(g.eos_token_ids, (std::vector<std::int64_t>{128001, 128009}));
  EXPECT_EQ(g.bos_token_id, 128000);
  EXPECT_FALSE(g.pad_token_id);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_DOUBLE_EQ(g.temperature.value_or(0), 0.6);
  EXPECT_DOUBLE_EQ(g.top_p.value_or(0), 0.9);
  EXPECT_EQ(g.top_k, 50);
  EXPECT_DOUBLE_EQ(g.repetition_penalty.value_or(0), 1.0);
  EXPECT_EQ(g.max_new_tokens, 256);
  EXPECT_EQ(g.max_length, 4096);
  write("generation_config.json", R"({"eos_token_id": 2})");
  EXPECT_EQ(load_text_config(dir_).generation.eos_token_ids, (std::vector<std::int64_t>{2}));
}

TEST_F(ModelTextConfigTest, WrongTypesNameFileAndKey) {
  const std::string tc = (dir_ / "tokenizer_config.json").string();
  const std::string gc = (dir_ / "generation_config.json").string();
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases = {
      {{"tokenizer_config.json", R"({"bos_token": 1})"},
       tc + ": bos_token: wrong type (got number); expected a string or an object with a string \"content\""},
      {{"tokenizer_config.json", R"({"chat_template": 3})"},
       tc + ": chat_template: wrong type (got number); expected a string or a list of {\"name\": ..., \"template\": "
            "...}"},
      {{"tokenizer_config.json", R"({"chat_template": [{"name": "rag", "template": "x"}]})"},
       tc + ": chat_template: no template named 'default' (got 'rag'); expected one entry with \"name\": \"default\""},
      {{"tokenizer_config.json", R"({"add_bos_token": "yes"})"},
       tc + ": add_bos_token: wrong type (got string); expected true or false"},
      {{"tokenizer_config.json", "{not json"},
       tc + ": not valid JSON (got parse error at byte 3); expected a JSON object"},
      {{"tokenizer_config.json", "[]"}, tc + ": wrong top-level type (got array); expected a JSON object"},
      {{"generation_config.json", R"({"eos_token_id": [1, "2"]})"},
       gc + ": eos_token_id: wrong type (got array); expected an integer or a list of integers"},
      {{"generation_config.json", R"({"temperature": "hot"})"},
       gc + ": temperature: wrong type (got string); expected a number"},
      {{"generation_config.json", R"({"top_k": 1.5})"}, gc + ": top_k: wrong type (got number); expected an integer"},
  };
  for (const auto& [file, message] : cases) {
    fs::remove(dir_ / "tokenizer_config.json");
    fs::remove(dir_ / "generation_config.json");
    write(file.first, file.second);
    try {
      load_text_config(dir_);
      ADD_FAILURE() << "accepted " << file.second;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.what(), message);
      EXPECT_EQ(e.exit_code(), 2);
    }
  }
}

}  // namespace
}  // namespace ds::engine::chat_template
