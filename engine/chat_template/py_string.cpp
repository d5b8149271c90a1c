#include "engine/chat_template/py_string.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace ds::engine::chat_template::py {

namespace {

std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

std::uint32_t decode(std::string_view cp) {
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(cp[i])); };
  switch (cp.size()) {
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default:
      return b(0);
  }
}

// str.isspace(): the code points whose bidirectional class is WS, B or S, or whose category is Zs.
bool is_space(std::uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Case mapping for the scripts chat text mostly uses: ASCII, Latin-1, Latin Extended-A and -B,
// IPA, Greek and Cyrillic, from Python's own tables (scripts/gen-case-table). Other code points
// have no case here (CJK has none anyway). 0 means "no mapping".
struct CaseRange {
  std::uint32_t first, last, stride;
  std::int32_t delta;
};
#include "engine/chat_template/case_table.inc"

template <std::size_t N>
std::uint32_t map_case(const CaseRange (&table)[N], std::uint32_t c) {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), c,
                                    [](std::uint32_t cp, const CaseRange& r) { return cp < r.first; });
  if (it == std::begin(table)) return 0;
  const CaseRange& r = *(it - 1);
  if (c > r.last || (c - r.first) % r.stride != 0) return 0;
  return static_cast<std::uint32_t>(static_cast<std::int64_t>(c) + r.delta);
}

std::uint32_t upper_of(std::uint32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z' ? c - 0x20 : 0;
  return map_case(kUpperRanges, c);
}

std::uint32_t lower_of(std::uint32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 0x20 : 0;
  return map_case(kLowerRanges, c);
}

// Cased letters whose mapping expands to two code points, so the tables leave them out.
bool is_cased(std::uint32_t c) {
  return upper_of(c) != 0 || lower_of(c) != 0 || c == 0xDF || c == 0x130 || c == 0x149 || c == 0x1F0 ||
         c == 0x390 || c == 0x3B0;
}

// Rewrites each code point of `text` through `map(code point, index)`, which returns the new code
// point or 0 to keep it.
template <typename Map>
std::string map_code_points(std::string_view text, Map map) {
  std::string out;
  out.reserve(text.size());
  std::size_t index = 0;
  for (const auto cp : code_points(text)) {
    const std::uint32_t mapped = map(decode(cp), index++);
    if (mapped == 0) {
      out += cp;
    } else {
      append_utf8(mapped, out);
    }
  }
  return out;
}

}  // namespace

void append_utf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<std::string_view> code_points(std::string_view text) {
  std::vector<std::string_view> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = sequence_length(static_cast<unsigned char>(text[i]));
    if (i + n > text.size()) n = 1;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
        n = 1;
        break;
      }
    }
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

std::size_t length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string strip(std::string_view text, StripSide side, const std::optional<std::string>& chars) {
  const auto cps = code_points(text);
  std::vector<std::string_view> strip_set;
  if (chars) strip_set = code_points(*chars);
  const auto strippable = [&](std::string_view cp) {
    if (!chars) return is_space(decode(cp));
    return std::find(strip_set.begin(), strip_set.end(), cp) != strip_set.end();
  };
  std::size_t begin = 0, end = cps.size();
  if (side != StripSide::kRight)
    while (begin < end && strippable(cps[begin])) ++begin;
  if (side != StripSide::kLeft)
    while (end > begin && strippable(cps[end - 1])) --end;
  std::string out;
  for (std::size_t i = begin; i < end; ++i) out += cps[i];
  return out;
}

std::vector<std::string> split(std::string_view text, const std::optional<std::string>& sep, long maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    std::size_t pos = 0;
    while (maxsplit < 0 || static_cast<long>(out.size()) < maxsplit) {
      const auto hit = text.find(*sep, pos);
      if (hit == std::string_view::npos || sep->empty()) break;
      out.emplace_back(text.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    out.emplace_back(text.substr(pos));
    return out;
  }
  const auto cps = code_points(text);
  std::size_t i = 0;
  while (i < cps.size()) {
    while (i < cps.size() && is_space(decode(cps[i]))) ++i;
    if (i == cps.size()) break;
    std::string word;
    if (maxsplit >= 0 && static_cast<long>(out.size()) == maxsplit) {
      // Once the splits are used up the rest comes as is, trailing whitespace included.
      for (; i < cps.size(); ++i) word += cps[i];
      out.push_back(word);
      break;
    }
    while (i < cps.size() && !is_space(decode(cps[i]))) word += cps[i++];
    out.push_back(word);
  }
  return out;
}

namespace {

// str.rsplit(None, maxsplit): split()'s mirror; once the splits are used up, the head comes as
// is, leading whitespace included.
std::vector<std::string> rsplit_whitespace(std::string_view text, long maxsplit) {
  const auto cps = code_points(text);
  std::vector<std::string> out;
  std::size_t end = cps.size();
  for (;;) {
    while (end > 0 && is_space(decode(cps[end - 1]))) --end;
    if (end == 0) break;
    std::size_t begin = end;
    if (static_cast<long>(out.size()) == maxsplit) {
      begin = 0;
    } else {
      while (begin > 0 && !is_space(decode(cps[begin - 1]))) --begin;
    }
    std::string word;
    for (std::size_t i = begin; i < end; ++i) word += cps[i];
    out.push_back(std::move(word));
    end = begin;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> rsplit(std::string_view text, const std::optional<std::string>& sep, long maxsplit) {
  if (maxsplit < 0) return split(text, sep, maxsplit);
  if (!sep) return rsplit_whitespace(text, maxsplit);
  std::vector<std::string> out;
  std::size_t end = text.size();
  while (static_cast<long>(out.size()) < maxsplit && !sep->empty()) {
    if (end < sep->size()) break;
    const auto hit = text.rfind(*sep, end - sep->size());
    if (hit == std::string_view::npos) break;
    out.emplace_back(text.substr(hit + sep->size(), end - hit - sep->size()));
    end = hit;
  }
  out.emplace_back(text.substr(0, end));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> splitlines(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      out.emplace_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) out.emplace_back(text.substr(start));
  return out;
}

std::string replace(std::string_view text, std::string_view old, std::string_view replacement, long count) {
  std::string out;
  long done = 0;
  if (old.empty()) {
    for (const auto cp : code_points(text)) {
      if (count < 0 || done < count) {
        out += replacement;
        ++done;
      }
      out += cp;
    }
    if (count < 0 || done < count) out += replacement;
    return out;
  }
  std::size_t pos = 0;
  while (count < 0 || done < count) {
    const auto hit = text.find(old, pos);
    if (hit == std::string_view::npos) break;
    out += text.substr(pos, hit - pos);
    out += replacement;
    pos = hit + old.size();
    ++done;
  }
  out += text.substr(pos);
  return out;
}

std::string upper(std::string_view text) {
  return map_code_points(text, [](std::uint32_t c, std::size_t) { return upper_of(c); });
}

std::string lower(std::string_view text) {
  return map_code_points(text, [](std::uint32_t c, std::size_t) { return lower_of(c); });
}

std::string title(std::string_view text) {
  bool previous_cased = false;
  return map_code_points(text, [&](std::uint32_t c, std::size_t) {
    const std::uint32_t mapped = previous_cased ? lower_of(c) : upper_of(c);
    previous_cased = is_cased(c);
    return mapped;
  });
}

std::string jinja_title(std::string_view text) {
  bool word_start = true;
  return map_code_points(text, [&](std::uint32_t c, std::size_t) -> std::uint32_t {
    if (c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_space(c)) {
      word_start = true;
      return 0;
    }
    const std::uint32_t mapped = word_start ? upper_of(c) : lower_of(c);
    word_start = false;
    return mapped;
  });
}

std::string capitalize(std::string_view text) {
  return map_code_points(text, [](std::uint32_t c, std::size_t i) { return i == 0 ? upper_of(c) : lower_of(c); });
}

std::vector<std::size_t> slice_indices(std::size_t size, std::optional<long> start, std::optional<long> stop,
                                       std::optional<long> step) {
  const long n = static_cast<long>(size);
  const long st = step.value_or(1);
  std::vector<std::size_t> out;
  if (st == 0) return out;  // the caller reports "slice step cannot be zero"
  const auto clamp = [&](std::optional<long> v, long fallback, long lo, long hi) {
    if (!v) return fallback;
    long x = *v < 0 ? *v + n : *v;
    return std::clamp(x, lo, hi);
  };
  if (st > 0) {
    const long b = clamp(start, 0, 0, n), e = clamp(stop, n, 0, n);
    for (long i = b; i < e; i += st) out.push_back(static_cast<std::size_t>(i));
  } else {
    const long b = clamp(start, n - 1, -1, n - 1), e = clamp(stop, -1, -1, n - 1);
    for (long i = b; i > e; i += st) out.push_back(static_cast<std::size_t>(i));
  }
  return out;
}

std::string slice(std::string_view text, std::optional<long> start, std::optional<long> stop,
                  std::optional<long> step) {
  const auto cps = code_points(text);
  std::string out;
  for (const auto i : slice_indices(cps.size(), start, stop, step)) out += cps[i];
  return out;
}

}  // namespace ds::engine::chat_template::py
