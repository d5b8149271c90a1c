#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ds::engine::tokenizer {

class Tokenizer;

/// Turns ids generated one at a time into text that is safe to print as it comes: never half a
/// UTF-8 character (an emoji or CJK character split over byte tokens, a run of <0xE4><0xB8>
/// byte-fallback tokens) and with the spaces decoders only restore in context (Llama 2's "▁").
/// The concatenation of everything push() and flush() return equals tokenizer.decode(all ids).
/// Special tokens print as their text; to hide them, do not push ids for which is_special() holds.
class StreamDecoder {
 public:
  /// `tokenizer` must outlive this decoder.
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  /// Adds one id; returns the text that became complete (often empty while a character is unfinished).
  std::string push(std::uint32_t id);
  /// The text still held back at the end of the stream; bytes that never became a character come
  /// out as U+FFFD. The decoder starts over afterwards.
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  std::vector<std::uint32_t> ids_;  ///< context ids (already printed) followed by pending ones
  std::size_t pending_ = 0;         ///< index in ids_ of the first id not yet printed
};

}  // namespace ds::engine::tokenizer
