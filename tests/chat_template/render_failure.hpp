// The message of a render failure, for the chat template tests that assert Python's wording.
#pragma once
#include <string>

#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template::test {

/// The message of the kRender failure `f` throws, or "" when it does not fail that way.
template <typename F>
std::string render_failure(F f) {
  try {
    f();
  } catch (const TemplateFailure& e) {
    if (e.kind() == FailureKind::kRender) return e.what();
  }
  return "";
}

}  // namespace ds::engine::chat_template::test
