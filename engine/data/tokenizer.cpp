#include "engine/data/tokenizer.hpp"

#include "common/error.hpp"
#include "common/suggest.hpp"

namespace ds::engine::data {

void ByteTokenizer::encode(std::string_view text, std::vector<std::uint32_t>& out) const {
  out.reserve(out.size() + text.size());
  for (char c : text) out.push_back(static_cast<unsigned char>(c));
}

std::string ByteTokenizer::decode(std::span<const std::uint32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (std::uint32_t id : ids) {
    if (id == kEotId) text += "<|endoftext|>";
    else if (id < 256) text.push_back(static_cast<char>(id));
    else text += "<|unk:" + std::to_string(id) + "|>";
  }
  return text;
}

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view spec) {
  if (spec == "byte") return std::make_unique<ByteTokenizer>();
  const std::vector<std::string> known = {"byte"};
  throw UsageError(format_error("--tokenizer", "unknown tokenizer", "'" + std::string(spec) + "'",
                                "one of: byte",
                                "HF tokenizer.json files are not readable by this build; use the byte tokenizer") +
                   did_you_mean(spec, known));
}

}  // namespace ds::engine::data
