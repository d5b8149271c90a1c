#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "engine/tokenizer/tokenizer.hpp"

namespace ds::engine::tokenizer {

/// A tokenizer from the text of a tokenizer.json; `file` names it in errors and in name().
/// load_tokenizer reads the file and calls this.
std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view json_text, const std::string& file);

}  // namespace ds::engine::tokenizer
