#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ds::engine::tokenizer {

/// model.vocab and model.merges of a BPE tokenizer.json, read straight into flat arrays.
struct BpeTables {
  std::vector<std::pair<std::string, std::uint32_t>> vocab;  ///< token -> id, in file order
  std::vector<std::pair<std::string, std::string>> merges;   ///< by rank
};

/// A tokenizer.json split for fast loading: the big tables apart, everything else as JSON.
struct TokenizerJson {
  nlohmann::json root;              ///< the document without model.vocab and model.merges when `tables` is set
  std::optional<BpeTables> tables;  ///< set when both tables were regular (an object of ids; "a b" or ["a", "b"])
};

/// Reads tokenizer.json text in one streaming pass: building a JSON tree for a 128k-token vocabulary
/// and 280k merges costs most of a naive load, so those two go straight into arrays. Returns
/// nullopt when the text is not valid JSON or the tables are irregular; the caller then parses the
/// whole document as a tree, which reports the exact problem.
std::optional<TokenizerJson> read_tokenizer_json(std::string_view text);

}  // namespace ds::engine::tokenizer
