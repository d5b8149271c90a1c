// Walks a parsed template and produces its text, with Jinja's scoping: a for-loop iteration gets
// its own scope (a `set` inside a loop is gone after it, which is why templates use namespace()),
// `if` does not, a macro call sees the template's top-level variables and its arguments.
#pragma once
#include <string>

#include "engine/chat_template/ast.hpp"
#include "engine/chat_template/value.hpp"

namespace ds::engine::chat_template {

/// Renders `body` with `context` over the globals (context wins on a name clash). Throws
/// TemplateFailure (kRender with the failing expression's offset, or kRaised).
std::string render_body(const Body& body, const ValueDict& context);

}  // namespace ds::engine::chat_template
