#include "engine/chat_template/chat_template.hpp"

#include "engine/chat_template/ast.hpp"
#include "engine/chat_template/interpreter.hpp"
#include "engine/chat_template/lexer.hpp"
#include "engine/chat_template/parser.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

constexpr int kBadRequest = 400;

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
  return chat_template.render(context);
}

}  // namespace ds::engine::chat_template
