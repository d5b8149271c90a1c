#include "engine/chat_template/model_text_config.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"

namespace ds::engine::chat_template {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// Hugging Face writes int(1e30) as model_max_length when the tokenizer has no limit.
constexpr double kNoLimitThreshold = 1e18;

std::optional<std::string> read_text(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(format_error(path.string(), "cannot read the file", "", "", "check its permissions"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<json> read_json(const fs::path& path) {
  const auto text = read_text(path);
  if (!text) return std::nullopt;
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::parse_error& e) {
    throw ConfigError(format_error(path.string(), "not valid JSON", "parse error at byte " + std::to_string(e.byte),
                                   "a JSON object"));
  }
  if (!doc.is_object())
    throw ConfigError(format_error(path.string(), "wrong top-level type", doc.type_name(), "a JSON object"));
  return doc;
}

// Reads keys of one file with errors that name the file and the key.
class Fields {
 public:
  Fields(const json& doc, const fs::path& path) : doc_(doc), path_(path) {}

  [[noreturn]] void wrong_type(const std::string& key, const std::string& expected) const {
    throw ConfigError(format_error(path_.string() + ": " + key, "wrong type", doc_.at(key).type_name(), expected));
  }
  // The value of `key` as T when `is_type` accepts it; nullopt when absent or null.
  template <typename T>
  std::optional<T> typed(const std::string& key, bool (json::*is_type)() const noexcept, const char* expected) const {
    const json* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!(v->*is_type)()) wrong_type(key, expected);
    return v->get<T>();
  }
  const json* get(const std::string& key) const {
    const auto it = doc_.find(key);
    return it == doc_.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<bool> boolean(const std::string& key) const {
    return typed<bool>(key, &json::is_boolean, "true or false");
  }
  std::optional<std::int64_t> integer(const std::string& key) const {
    return typed<std::int64_t>(key, &json::is_number_integer, "an integer");
  }
  std::optional<double> number(const std::string& key) const {
    return typed<double>(key, &json::is_number, "a number");
  }
  // A special token: "<s>", or an AddedToken object {"content": "<s>", ...}.
  std::optional<std::string> token(const std::string& key) const {
    const json* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_string()) return v->get<std::string>();
    if (v->is_object() && v->contains("content") && (*v)["content"].is_string())
      return (*v)["content"].get<std::string>();
    wrong_type(key, "a string or an object with a string \"content\"");
  }
  std::vector<std::int64_t> integer_list(const std::string& key) const {
    const json* v = get(key);
    if (v == nullptr) return {};
    if (v->is_number_integer()) return {v->get<std::int64_t>()};
    if (!v->is_array()) wrong_type(key, "an integer or a list of integers");
    std::vector<std::int64_t> out;
    for (const auto& item : *v) {
      if (!item.is_number_integer()) wrong_type(key, "an integer or a list of integers");
      out.push_back(item.get<std::int64_t>());
    }
    return out;
  }

 private:
  const json& doc_;
  const fs::path& path_;
};

void read_chat_templates(const Fields& fields, const fs::path& path, ModelTextConfig& config) {
  const json* v = fields.get("chat_template");
  if (v == nullptr) return;
  const std::string expected = "a string or a list of {\"name\": ..., \"template\": ...}";
  if (v->is_string()) {
    config.chat_template = v->get<std::string>();
  } else if (v->is_array()) {
    std::string names;
    for (const auto& entry : *v) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
          !entry["template"].is_string())
        fields.wrong_type("chat_template", expected);
      config.named_chat_templates.emplace_back(entry["name"].get<std::string>(), entry["template"].get<std::string>());
      names += (names.empty() ? "'" : ", '") + entry["name"].get<std::string>() + "'";
      if (entry["name"] == "default") config.chat_template = entry["template"].get<std::string>();
    }
    if (!config.chat_template)
      throw ConfigError(format_error(path.string() + ": chat_template", "no template named 'default'", names,
                                     "one entry with \"name\": \"default\""));
  } else {
    fields.wrong_type("chat_template", expected);
  }
  config.chat_template_origin = path.string();
}

void read_generation_config(const fs::path& path, GenerationDefaults& gen) {
  const auto doc = read_json(path);
  if (!doc) return;
  const Fields f(*doc, path);
  gen.eos_token_ids = f.integer_list("eos_token_id");
  gen.bos_token_id = f.integer("bos_token_id");
  gen.pad_token_id = f.integer("pad_token_id");
  gen.do_sample = f.boolean("do_sample");
  gen.temperature = f.number("temperature");
  gen.top_p = f.number("top_p");
  gen.top_k = f.integer("top_k");
  gen.repetition_penalty = f.number("repetition_penalty");
  gen.max_new_tokens = f.integer("max_new_tokens");
  gen.max_length = f.integer("max_length");
}

}  // namespace

ModelTextConfig load_text_config(const std::filesystem::path& model_dir) {
  ModelTextConfig config;
  const fs::path tokenizer_config = model_dir / "tokenizer_config.json";
  if (const auto doc = read_json(tokenizer_config)) {
    const Fields f(*doc, tokenizer_config);
    read_chat_templates(f, tokenizer_config, config);
    config.bos_token = f.token("bos_token");
    config.eos_token = f.token("eos_token");
    config.pad_token = f.token("pad_token");
    config.unk_token = f.token("unk_token");
    config.add_bos_token = f.boolean("add_bos_token");
    config.add_eos_token = f.boolean("add_eos_token");
    if (const auto limit = f.number("model_max_length"); limit && *limit < kNoLimitThreshold)
      config.model_max_length = static_cast<std::int64_t>(*limit);
  }
  // The newer layout keeps the template in its own file, and transformers prefers it.
  const fs::path jinja = model_dir / "chat_template.jinja";
  if (auto text = read_text(jinja)) {
    config.chat_template = std::move(*text);
    config.chat_template_origin = jinja.string();
  }
  read_generation_config(model_dir / "generation_config.json", config.generation);
  return config;
}

std::optional<std::string> pick_chat_template(const ModelTextConfig& config, bool has_tools) {
  if (has_tools)
    for (const auto& [name, source] : config.named_chat_templates)
      if (name == "tool_use") return source;
  return config.chat_template;
}

}  // namespace ds::engine::chat_template
