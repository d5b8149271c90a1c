// Methods templates call on values ('x'.strip(), s.split('</think>'), d.items(), d.get('k'))
// and the globals every render sees (range, namespace, dict, raise_exception, strftime_now).
#pragma once
#include <string>

#include "engine/chat_template/value.hpp"

namespace ds::engine::chat_template {

/// The method `name` of a str or dict bound to `object`, or nullopt-like Undefined when the type
/// has no such method.
Value find_method(const Value& object, const std::string& name);

/// The globals: range, namespace, dict, raise_exception (throws TemplateFailure kRaised),
/// strftime_now (local time, as transformers defines it).
ValueDict make_globals();

}  // namespace ds::engine::chat_template
