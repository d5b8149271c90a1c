#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace ds::engine::tokenizer {

/// Bytes in the UTF-8 sequence that starts with `lead` (1 for a stray continuation or invalid
/// lead byte, so a scan always moves forward).
std::size_t utf8_sequence_length(unsigned char lead);

/// Appends code point `cp` to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

/// How many bytes at the end of `text` are the start of a UTF-8 sequence that more bytes could
/// still complete (0 when the text ends on a character boundary or on bytes that can never be valid).
std::size_t incomplete_utf8_tail(std::string_view text);

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD, as HF's lossy decode does.
std::string to_valid_utf8(std::string_view text);

/// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

/// True when every byte is below 0x80.
bool is_ascii(std::string_view text);

}  // namespace ds::engine::tokenizer
