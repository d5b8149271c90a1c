// How the interpreter reports a failure before it knows who is asking: a TemplateFailure carries
// the byte offset in the template; ChatTemplate turns it into the ds error kind (UsageError for
// a template that does not compile, RequestError for one that fails on a request's messages) with
// the location written `name:line:column` and the offending line under a caret, as ninja does.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ds::engine::chat_template {

/// What kind of failure, which decides the ds error it becomes.
enum class FailureKind {
  kSyntax,  ///< the template does not parse, or uses Jinja this interpreter does not have
  kRender,  ///< an expression failed on the values it was given (a type error, undefined.attr)
  kRaised,  ///< the template called raise_exception(message)
};

/// Internal failure; never leaves ChatTemplate.
class TemplateFailure : public std::runtime_error {
 public:
  static constexpr std::size_t kNoOffset = static_cast<std::size_t>(-1);
  TemplateFailure(FailureKind kind, std::string message, std::size_t offset = kNoOffset)
      : std::runtime_error(std::move(message)), kind_(kind), offset_(offset) {}
  FailureKind kind() const { return kind_; }
  std::size_t offset() const { return offset_; }
  bool located() const { return offset_ != kNoOffset; }
  void set_offset(std::size_t offset) { offset_ = offset; }

 private:
  FailureKind kind_;
  std::size_t offset_;
};

/// Throws a kRender failure (the interpreter adds where it happened).
[[noreturn]] void fail_render(std::string message);

/// 1-based line and column (in code points) of byte `offset` of `source`.
struct SourceLocation {
  std::size_t line = 1;
  std::size_t column = 1;
};
SourceLocation locate(std::string_view source, std::size_t offset);

/// "<name>:<line>:<column>: <message>", then the template line and a caret under the column.
std::string located_message(std::string_view name, std::string_view source, std::size_t offset,
                            const std::string& message);

}  // namespace ds::engine::chat_template
