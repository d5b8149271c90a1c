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
  std::array<std::int16_t, 512> decode{};  // code point (< 0x144) -> byte, -1 when not in the map

  ByteMap() {
    decode.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = maps_to_itself(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      append_utf8(encode[b], cp);
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
  const auto& map = byte_map();
  for (char c : bytes) out += map.encode[static_cast<unsigned char>(c)];
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
