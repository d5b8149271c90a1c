// Tokens -> statement tree: if/elif/else, for/else (with an `if` filter), set (plain, on a
// namespace attribute, block form), macro, call blocks, break/continue, {% generation %}.
// Expressions come from expression_parser.hpp.
#pragma once
#include <vector>

#include "engine/chat_template/ast.hpp"
#include "engine/chat_template/lexer.hpp"

namespace ds::engine::chat_template {

/// Parses the tokens of one template. Throws TemplateFailure (kSyntax) at the offending token for
/// bad syntax, unknown filters, tests and tags, and Jinja features chat templates do not need
/// (extends, include, import, filter blocks, recursive loops).
Body parse_template(const std::vector<Token>& tokens);

}  // namespace ds::engine::chat_template
