// A position in a template's token list and the checks each parsing step makes, failing at the
// offending token with the house wording ("unexpected token in 'for' tag (got 'x'); expected 'in'").
#pragma once
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat_template/lexer.hpp"

namespace ds::engine::chat_template {

/// Walks tokens for the parsers; never moves past the final kEnd token.
class TokenCursor {
 public:
  explicit TokenCursor(const std::vector<Token>& tokens) : tokens_(tokens) {}

  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(std::size_t ahead = 1) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& previous() const { return tokens_[pos_ == 0 ? 0 : pos_ - 1]; }
  /// Returns the current token and moves to the next.
  const Token& advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool at_op(std::string_view op) const { return current().kind == TokenKind::kOperator && current().text == op; }
  bool at_name(std::string_view name) const { return current().kind == TokenKind::kName && current().text == name; }

  /// Throws TemplateFailure (kSyntax) at `at`: "<what> (got <at>); expected <expected>; hint: <hint>".
  [[noreturn]] void fail(const Token& at, const std::string& what, const std::string& expected,
                         const std::string& hint = {}) const;
  /// Consumes operator `op` or fails naming `context` ("in list literal").
  void expect_op(std::string_view op, const std::string& context);
  /// Consumes a name and returns it, or fails naming `context`.
  std::string expect_name(const std::string& context);

  /// How deeply blocks and expressions may nest: recursion in the parser (and later in the
  /// interpreter) ends there instead of exhausting the stack on a hostile template.
  static constexpr int kMaxNesting = 200;
  /// Held while parsing one nested construct; fails at the current token past kMaxNesting.
  class Nesting {
   public:
    explicit Nesting(TokenCursor& cursor);
    ~Nesting() { --cursor_.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    TokenCursor& cursor_;
  };

 private:
  const std::vector<Token>& tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace ds::engine::chat_template
