// The filters (`x|trim`) and tests (`x is defined`) a chat template can use: Jinja's built-ins
// that real chat templates call, with Hugging Face's tojson (no HTML escaping, non-ASCII kept).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat_template/value.hpp"

namespace ds::engine::chat_template {

/// Names the parser accepts after `|` and after `is`.
const std::vector<std::string>& filter_names();
const std::vector<std::string>& test_names();

/// input|name(args). Throws TemplateFailure (kRender) for arguments it cannot take.
Value apply_filter(const std::string& name, const Value& input, const CallArgs& args);
/// input is name(args).
bool apply_test(const std::string& name, const Value& input, const CallArgs& args);

}  // namespace ds::engine::chat_template
