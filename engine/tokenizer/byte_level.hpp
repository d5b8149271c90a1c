#pragma once
#include <string>
#include <string_view>

namespace ds::engine::tokenizer {

/// GPT-2's reversible byte -> printable character map, used by byte-level BPE vocabularies (GPT-2,
/// Llama 3, Qwen): printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in order.
/// Returns the UTF-8 of the character that stands for `byte`.
std::string_view byte_to_unicode(unsigned char byte);

/// Every byte of `bytes` replaced by its byte_to_unicode character, appended to `out`.
void byte_level_encode(std::string_view bytes, std::string& out);

/// The inverse: characters of the map back to their bytes, appended to `out`. A character outside
/// the map (an added token's text) is copied as its own UTF-8.
void byte_level_decode(std::string_view text, std::string& out);

}  // namespace ds::engine::tokenizer
