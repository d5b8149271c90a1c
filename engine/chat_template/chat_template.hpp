// Hugging Face chat templates rendered natively: the Jinja a model's tokenizer_config.json (or
// chat_template.jinja) carries, compiled once and rendered per request the way transformers'
// apply_chat_template(tokenize=False) does: trim_blocks and lstrip_blocks on, loop controls,
// raise_exception, a tojson that keeps non-ASCII and HTML characters as they are.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ds::engine::chat_template {

struct Stmt;

/// The error raise_exception('...') in a template produces: a bad request (HTTP 400) on the
/// `messages` field, carrying the template's own words.
class TemplateRaisedError : public RequestError {
 public:
  explicit TemplateRaisedError(std::string template_message);
  /// The text the template passed to raise_exception.
  const std::string& template_message() const { return template_message_; }

 private:
  std::string template_message_;
};

/// A compiled chat template. Immutable after construction; render() is safe to call from several
/// threads at once.
class ChatTemplate {
 public:
  /// Compiles `source`. `name` prefixes error locations ("chat_template.jinja:3:14: ..."); lines
  /// and columns count within the template text, also when it came from tokenizer_config.json.
  /// Throws UsageError naming line:column, with the line and a caret, for syntax errors and
  /// unsupported Jinja (extends, include, filter blocks, unknown filters and tests).
  explicit ChatTemplate(std::string source, std::string name = "chat template");
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  /// Renders with the keys of the JSON object `context` as variables. Throws
  /// TemplateRaisedError when the template calls raise_exception, and RequestError (400, param
  /// "messages") naming line:column when an expression fails on the values given (a type error,
  /// an attribute of an undefined value).
  std::string render(const nlohmann::ordered_json& context) const;

  /// The source as compiled (newlines normalized, one trailing newline dropped, as Jinja does).
  const std::string& source() const { return source_; }
  const std::string& name() const { return name_; }

 private:
  std::string source_;
  std::string name_;
  std::unique_ptr<std::vector<std::unique_ptr<Stmt>>> body_;
};

/// What apply_chat_template passes besides the messages.
struct ChatRenderOptions {
  bool add_generation_prompt = false;  ///< end with the header that opens the assistant's turn
  /// Cut the text right after the last message's content, so the model continues that (assistant)
  /// message instead of starting a new turn: transformers' continue_final_message.
  bool continue_final_message = false;
  std::optional<std::string> bos_token;    ///< `bos_token` in the template (tokenizer_config.json)
  std::optional<std::string> eos_token;    ///< `eos_token`
  nlohmann::ordered_json tools = nullptr;  ///< OpenAI-style tool list, or null (templates see none)
  /// More variables (enable_thinking, date_string...); they override the ones above, as
  /// transformers lets keyword arguments override special tokens.
  nlohmann::ordered_json extra_context = nlohmann::ordered_json::object();
};

/// Renders `messages` (a JSON array of {"role", "content", ...}) through `chat_template` with
/// the variables transformers provides: messages, tools, documents (none), add_generation_prompt,
/// bos_token, eos_token, then `extra_context`. Throws RequestError (param "messages") when
/// `messages` is not an array, when continue_final_message is asked together with
/// add_generation_prompt or the final message's text is not in the output, and whatever render()
/// throws.
std::string render_chat(const ChatTemplate& chat_template, const nlohmann::ordered_json& messages,
                        const ChatRenderOptions& options = {});

}  // namespace ds::engine::chat_template
