// What a Hugging Face model folder says about turning chats into text and how to sample: the chat
// template and special tokens (tokenizer_config.json, or chat_template.jinja in the newer layout)
// and the generation defaults (generation_config.json). Every file and key is optional.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ds::engine::chat_template {

/// generation_config.json: the sampling defaults the model's authors chose.
struct GenerationDefaults {
  std::vector<std::int64_t> eos_token_ids;  ///< eos_token_id, an int or a list (Llama 3 lists several)
  std::optional<std::int64_t> bos_token_id;
  std::optional<std::int64_t> pad_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<double> repetition_penalty;
  std::optional<std::int64_t> max_new_tokens;
  std::optional<std::int64_t> max_length;  ///< prompt + generated tokens
};

/// The text-side configuration of a model folder.
struct ModelTextConfig {
  /// The default chat template's source; nullopt when the model has none (base models).
  std::optional<std::string> chat_template;
  /// Where it came from: "<dir>/chat_template.jinja" or "<dir>/tokenizer_config.json"; pass it as
  /// ChatTemplate's name so template errors say which file to fix.
  std::string chat_template_origin;
  /// Every named template when tokenizer_config.json lists several ({"name", "template"}), e.g.
  /// "default", "tool_use", "rag", in file order.
  std::vector<std::pair<std::string, std::string>> named_chat_templates;
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  /// Longest input the tokenizer accepts; nullopt when absent or Hugging Face's "no limit"
  /// placeholder (int(1e30)).
  std::optional<std::int64_t> model_max_length;
  GenerationDefaults generation;
};

/// Reads tokenizer_config.json, chat_template.jinja (which wins over the config's template) and
/// generation_config.json from `model_dir`. Missing files are fine. Throws ConfigError naming the
/// file and key for invalid JSON or a value of the wrong type, and for a template list without
/// a "default" entry.
ModelTextConfig load_text_config(const std::filesystem::path& model_dir);

/// The template transformers would render with: the one named "tool_use" when the request has
/// tools and the model names one, else the default; nullopt when the model has no template.
std::optional<std::string> pick_chat_template(const ModelTextConfig& config, bool has_tools);

}  // namespace ds::engine::chat_template
