#include "engine/tokenizer/byte_level.hpp"

#include <array>
#include <cstdint>

#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

// Bytes that stand for themselves: '!'..'~', 0xA1..0xAC, 0xAE..0xFF.
bool maps_to_itself(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct ByteMap {
  std::array<std::string, 256> encode;
  // The same as flat UTF-8 (1 or 2 bytes each, all below U+0144), for the hot encode loop.
  std::array<std::array<char, 2>, 256> utf8{};
  std::array<std::uint8_t, 256> utf8_size{};
  std::array<std::int16_t, 512> decode{};  // code point (< 0x144) -> byte, -1 when not in the map

  ByteMap() {
    decode.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = maps_to_itself(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      append_utf8(encode[b], cp);
      utf8_size[b] = static_cast<std::uint8_t>(encode[b].size());
      for (std::size_t k = 0; k < encode[b].size(); ++k) utf8[b][k] = encode[b][k];
      decode[cp] = static_cast<std::int16_t>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

std::string_view byte_to_unicode(unsigned char byte) { return byte_map().encode[byte]; }

void byte_level_encode(std::string_view bytes, std::string& out) {
  // performance-critical: every byte of a byte-level corpus passes here.
  static const ByteMap& map = byte_map();
  const std::size_t start = out.size();
  out.resize(start + 2 * bytes.size());
  char* dst = out.data() + start;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    dst[0] = map.utf8[b][0];
    dst[1] = map.utf8[b][1];
    dst += map.utf8_size[b];
  }
  out.resize(static_cast<std::size_t>(dst - out.data()));
}

void byte_level_decode(std::string_view text, std::string& out) {
  const auto& map = byte_map();
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t n = utf8_sequence_length(lead);
    if (i + n > text.size()) n = 1;
    char32_t cp = lead;
    if (n == 2) cp = ((lead & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
    if (n <= 2 && cp < map.decode.size() && map.decode[cp] >= 0) {
      out.push_back(static_cast<char>(map.decode[cp]));
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
}

}  // namespace ds::engine::tokenizer
