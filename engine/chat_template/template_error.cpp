#include "engine/chat_template/template_error.hpp"

#include <algorithm>

#include "engine/chat_template/py_string.hpp"

namespace ds::engine::chat_template {

void fail_render(std::string message) { throw TemplateFailure(FailureKind::kRender, std::move(message)); }

SourceLocation locate(std::string_view source, std::size_t offset) {
  SourceLocation loc;
  offset = std::min(offset, source.size());
  const auto line_start = source.rfind('\n', offset == 0 ? 0 : offset - 1);
  const std::size_t begin = (line_start == std::string_view::npos || offset == 0) ? 0 : line_start + 1;
  for (std::size_t i = 0; i < begin; ++i)
    if (source[i] == '\n') ++loc.line;
  loc.column = py::length(source.substr(begin, offset - begin)) + 1;
  return loc;
}

std::string located_message(std::string_view name, std::string_view source, std::size_t offset,
                            const std::string& message) {
  const SourceLocation loc = locate(source, offset);
  std::string out =
      std::string(name) + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column) + ": " + message;
  // The offending line, and a caret under the column (tabs kept so the caret lines up).
  std::size_t begin = 0;
  for (std::size_t line = 1; line < loc.line; ++line) begin = source.find('\n', begin) + 1;
  const auto end = source.find('\n', begin);
  const std::string_view text =
      source.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
  out += '\n';
  out += text;
  out += '\n';
  const auto cps = py::code_points(text);
  for (std::size_t i = 0; i + 1 < loc.column && i < cps.size(); ++i) out += cps[i] == "\t" ? '\t' : ' ';
  return out + "^";
}

}  // namespace ds::engine::chat_template
