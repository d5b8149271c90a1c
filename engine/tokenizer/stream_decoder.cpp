#include "engine/tokenizer/stream_decoder.hpp"

#include <span>

#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

// How many printed ids stay as context: enough for decoders that look at the previous token
// (Metaspace strips the first token's space; decoding the next token alone would lose its space).
constexpr std::size_t kContextIds = 4;

}  // namespace

std::string StreamDecoder::push(std::uint32_t id) {
  ids_.push_back(id);
  const std::span<const std::uint32_t> all(ids_);
  const std::string before = tokenizer_.decode_raw(all.first(pending_));
  const std::string after = tokenizer_.decode_raw(all);
  // Wait while the text ends inside a character (more byte tokens will finish it), or while the
  // new ids have produced nothing yet.
  if (after.size() <= before.size() || incomplete_utf8_tail(after) > 0) return "";
  std::string text = to_valid_utf8(std::string_view(after).substr(before.size()));
  pending_ = ids_.size();
  if (pending_ > kContextIds) {
    ids_.erase(ids_.begin(), ids_.end() - static_cast<std::ptrdiff_t>(kContextIds));
    pending_ = kContextIds;
  }
  return text;
}

std::string StreamDecoder::flush() {
  const std::span<const std::uint32_t> all(ids_);
  const std::string before = tokenizer_.decode_raw(all.first(pending_));
  const std::string after = tokenizer_.decode_raw(all);
  std::string text = after.size() > before.size() ? to_valid_utf8(std::string_view(after).substr(before.size())) : "";
  ids_.clear();
  pending_ = 0;
  return text;
}

}  // namespace ds::engine::tokenizer
