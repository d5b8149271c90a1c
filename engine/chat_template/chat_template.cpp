#include "engine/chat_template/chat_template.hpp"

#include <algorithm>

#include "engine/chat_template/ast.hpp"
#include "engine/chat_template/interpreter.hpp"
#include "engine/chat_template/lexer.hpp"
#include "engine/chat_template/parser.hpp"
#include "engine/chat_template/py_string.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

constexpr int kBadRequest = 400;

// transformers' continue_final_message: keep the text up to the end of the final message's
// content (whitespace the template trimmed from its end is not put back), so generation
// continues that message.
std::string cut_after_final_message(std::string rendered, const nlohmann::ordered_json& messages) {
  const auto& last = messages.back();
  const nlohmann::ordered_json content =
      last.is_object() && last.contains("content") ? last["content"] : nlohmann::ordered_json();
  std::string final_text;
  if (content.is_string()) {
    final_text = content.get<std::string>();
  } else {
    // Content parts: the last one that has text.
    bool found = false;
    if (content.is_array()) {
      for (auto it = content.rbegin(); it != content.rend() && !found; ++it) {
        if (it->is_object() && it->contains("text") && (*it)["text"].is_string()) {
          final_text = (*it)["text"].get<std::string>();
          found = true;
        }
      }
    }
    if (!found)
      throw RequestError(format_error("messages", "continue_final_message: the final message has no text to continue",
                                      content.type_name(), "a string content or a part with \"text\""),
                         kBadRequest, "messages");
  }
  const std::string stripped = py::strip(final_text, py::StripSide::kBoth);
  const auto at = stripped.empty() ? rendered.size() : rendered.rfind(stripped);  // "" is found at the end
  if (at == std::string::npos)
    throw RequestError(
        format_error("messages", "continue_final_message: the final message's text is not in the rendered prompt", "",
                     "", "the chat template drops or rewrites that message; send it as a new turn"),
        kBadRequest, "messages");
  // The template kept the message's spacing: cut after it; it trimmed trailing spacing: cut after the text.
  const std::size_t lstripped_size = py::strip(final_text, py::StripSide::kLeft).size();
  const bool spacing_kept = rendered.compare(at, lstripped_size, final_text) == 0;
  rendered.resize(std::min(rendered.size(), at + (spacing_kept ? lstripped_size : stripped.size())));
  return rendered;
}

}  // namespace

TemplateRaisedError::TemplateRaisedError(std::string template_message)
    : RequestError(format_error("messages", "rejected by the chat template: " + template_message), kBadRequest,
                   "messages"),
      template_message_(std::move(template_message)) {}

ChatTemplate::ChatTemplate(std::string source, std::string name)
    : source_(normalize_source(source)), name_(std::move(name)) {
  try {
    body_ = std::make_unique<Body>(parse_template(tokenize(source_)));
  } catch (const TemplateFailure& f) {
    throw UsageError(located_message(name_, source_, f.offset(), f.what()));
  }
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& context) const {
  if (!context.is_object())
    throw UsageError(format_error(name_, "render context must be a JSON object", context.type_name(), "an object"));
  try {
    const Value values = Value::from_json(context);
    return render_body(*body_, values.as_dict());
  } catch (const TemplateFailure& f) {
    if (f.kind() == FailureKind::kRaised) throw TemplateRaisedError(f.what());
    const std::string message =
        f.located() ? located_message(name_, source_, f.offset(), f.what()) : format_error(name_, f.what());
    throw RequestError(message, kBadRequest, "messages");
  } catch (const std::exception& e) {
    // A value too large to build (a huge repeat or indent width) or nested too deeply.
    throw RequestError(format_error(name_, std::string("rendering failed: ") + e.what()), kBadRequest, "messages");
  }
}

std::string render_chat(const ChatTemplate& chat_template, const nlohmann::ordered_json& messages,
                        const ChatRenderOptions& options) {
  if (!messages.is_array())
    throw RequestError(format_error("messages", "expected an array of messages", messages.type_name(),
                                    "[{\"role\": \"user\", \"content\": \"...\"}, ...]"),
                       kBadRequest, "messages");
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = messages;
  context["tools"] = options.tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = options.add_generation_prompt;
  if (options.bos_token) context["bos_token"] = *options.bos_token;
  if (options.eos_token) context["eos_token"] = *options.eos_token;
  if (options.extra_context.is_object())
    for (const auto& [key, value] : options.extra_context.items()) context[key] = value;
  if (!options.continue_final_message) return chat_template.render(context);
  if (options.add_generation_prompt)
    throw RequestError(format_error("continue_final_message", "cannot be combined with add_generation_prompt", "",
                                    "one of them", "continue the last message, or open a new assistant turn"),
                       kBadRequest, "continue_final_message");
  if (messages.empty())
    throw RequestError(
        format_error("messages", "continue_final_message needs a message to continue", "[]", "at least one message"),
        kBadRequest, "messages");
  return cut_after_final_message(chat_template.render(context), messages);
}

}  // namespace ds::engine::chat_template
