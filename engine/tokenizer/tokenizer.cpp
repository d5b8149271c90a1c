#include "engine/tokenizer/tokenizer.hpp"

#include "common/error.hpp"
#include "common/suggest.hpp"

namespace ds::engine::tokenizer {

namespace {
constexpr std::string_view kEotText = "<|endoftext|>";
}

void ByteTokenizer::encode(std::string_view text, const EncodeOptions&, std::vector<std::uint32_t>& out) const {
  out.reserve(out.size() + text.size());
  for (char c : text) out.push_back(static_cast<unsigned char>(c));
}

std::string ByteTokenizer::decode(std::span<const std::uint32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (std::uint32_t id : ids) {
    if (id == kEotId) text += kEotText;
    else if (id < 256) text.push_back(static_cast<char>(id));
    else text += "<|unk:" + std::to_string(id) + "|>";
  }
  return text;
}

std::optional<std::uint32_t> ByteTokenizer::token_to_id(std::string_view token) const {
  if (token == kEotText) return kEotId;
  if (token.size() == 1) return static_cast<unsigned char>(token[0]);
  return std::nullopt;
}

std::string ByteTokenizer::id_to_token(std::uint32_t id) const {
  if (id == kEotId) return std::string(kEotText);
  if (id < 256) return std::string(1, static_cast<char>(id));
  return "";
}

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view spec) {
  if (spec == "byte") return std::make_unique<ByteTokenizer>();
  std::error_code ec;
  if (!spec.empty() && std::filesystem::exists(std::filesystem::path(spec), ec)) return load_tokenizer(spec);
  throw UsageError(format_error("--tokenizer", "unknown tokenizer", "'" + std::string(spec) + "'",
                                "'byte', a tokenizer.json file or a model directory holding one",
                                "the path must exist; Hugging Face repos are not downloaded") +
                   did_you_mean(spec, {"byte"}));
}

}  // namespace ds::engine::tokenizer
