// Template source -> tokens, with Jinja's whitespace rules applied to the text between tags:
// `{%-`/`-%}` (and the same on `{{ }}` and `{# #}`) strip all whitespace on that side; with
// trim_blocks the first newline after a block or comment tag goes; with lstrip_blocks the spaces
// and tabs before a block or comment tag that starts its line go (`{%+` keeps them, `+%}` keeps
// the newline). Hugging Face renders chat templates with both options on.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ds::engine::chat_template {

/// What a token is.
enum class TokenKind {
  kText,        ///< template text outside tags (already whitespace-controlled)
  kVarBegin,    ///< {{
  kVarEnd,      ///< }}
  kBlockBegin,  ///< {%
  kBlockEnd,    ///< %}
  kName,        ///< identifier or keyword
  kString,      ///< string literal, escapes decoded
  kInteger,     ///< integer literal
  kFloat,       ///< float literal
  kOperator,    ///< + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  kEnd,         ///< end of the template
};

/// One token; `offset` is its first byte in the normalized source (for error locations).
struct Token {
  TokenKind kind;
  std::string text;
  std::size_t offset = 0;
};

/// The environment's whitespace options (Jinja's defaults are both false; Hugging Face sets both).
struct LexerOptions {
  bool trim_blocks = true;    ///< drop the first newline after a block or comment tag
  bool lstrip_blocks = true;  ///< drop spaces and tabs before a block or comment tag starting a line
};

/// Jinja's source normalization: "\r\n" and "\r" become "\n" and one trailing newline is dropped
/// (keep_trailing_newline=False). Token offsets refer to this text.
std::string normalize_source(std::string_view source);

/// Splits normalized `source` into tokens ending with kEnd. `{% raw %}...{% endraw %}` comes out
/// as text. Throws TemplateFailure (kSyntax) for an unclosed tag, comment or string, or a
/// character Jinja has no token for.
std::vector<Token> tokenize(std::string_view source, const LexerOptions& options = {});

}  // namespace ds::engine::chat_template
