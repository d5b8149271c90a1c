// Tokens -> statement tree, following Jinja's grammar and operator precedence (lowest first):
// `a if c else b`, or, and, not, comparisons and `in`, + -, ~, * / // %, **, unary - +, then
// postfix access, calls, `|filter` and `is test`. Names of filters and tests are checked here, so
// a typo fails when the template is loaded rather than on the first request that reaches it.
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
