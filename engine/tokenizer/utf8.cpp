#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// How many bytes from text[i] on form a valid (possibly unfinished) UTF-8 sequence: the whole
// sequence when it is complete, fewer when the text ends or turns invalid inside it. 0 for a byte
// that can never start one. Overlong forms, surrogates and code points above U+10FFFF are invalid
// (RFC 3629), so these limits apply to the second byte.
std::size_t valid_prefix_at(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  const std::size_t need = utf8_sequence_length(lead);
  if (need == 1) return 0;
  std::size_t k = 1;
  for (; k < need && i + k < text.size(); ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if (!is_continuation(c)) break;
    if (k == 1 && ((lead == 0xE0 && c < 0xA0) || (lead == 0xED && c > 0x9F) || (lead == 0xF0 && c < 0x90) ||
                   (lead == 0xF4 && c > 0x8F))) {
      break;
    }
  }
  return k;
}

}  // namespace

std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 1;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t incomplete_utf8_tail(std::string_view text) {
  // A sequence is at most 4 bytes, so only the last 3 can be an unfinished one.
  const std::size_t size = text.size();
  for (std::size_t back = 1; back <= 3 && back <= size; ++back) {
    const std::size_t start = size - back;
    if (is_continuation(static_cast<unsigned char>(text[start]))) continue;
    const std::size_t need = utf8_sequence_length(static_cast<unsigned char>(text[start]));
    return need > back && valid_prefix_at(text, start) == back ? back : 0;
  }
  return 0;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t need = utf8_sequence_length(static_cast<unsigned char>(text[i]));
    const std::size_t have = valid_prefix_at(text, i);
    if (have == need && (need > 1 || static_cast<unsigned char>(text[i]) < 0x80)) {
      out.append(text.substr(i, need));
      i += need;
      continue;
    }
    // One U+FFFD per maximal invalid subpart, like Rust's from_utf8_lossy and TextDecoder.
    out += "\xEF\xBF\xBD";
    i += have == 0 ? 1 : have;
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    const std::size_t need = utf8_sequence_length(lead);
    if (need == 1 || valid_prefix_at(text, i) != need) return false;
    i += need;
  }
  return true;
}

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace ds::engine::tokenizer
