// Python's str methods on UTF-8 text, as chat templates call them ('x'.strip(), .split(),
// |trim, |length). Python counts and slices code points and strips Unicode whitespace, so these
// do too; case mapping covers U+0000-U+052F (Latin, IPA, Greek, Cyrillic) with Python's own
// one-to-one mappings (none that expand, such as 'ß'.upper() == 'SS').
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::engine::chat_template::py {

/// Appends code point `cp` as UTF-8.
void append_utf8(std::uint32_t cp, std::string& out);
/// The code points of UTF-8 `text`, each as its UTF-8 bytes (invalid bytes stay one each).
std::vector<std::string_view> code_points(std::string_view text);
/// len(text): the number of code points.
std::size_t length(std::string_view text);

/// Which ends strip() works on.
enum class StripSide { kBoth, kLeft, kRight };
/// str.strip/lstrip/rstrip: without `chars`, Python's whitespace (str.isspace); else any code
/// point of `chars`.
std::string strip(std::string_view text, StripSide side, const std::optional<std::string>& chars = std::nullopt);

/// str.split(sep, maxsplit): without `sep`, runs of whitespace separate and empty parts vanish.
/// maxsplit < 0 means no limit.
std::vector<std::string> split(std::string_view text, const std::optional<std::string>& sep, long maxsplit = -1);
/// str.rsplit(sep, maxsplit).
std::vector<std::string> rsplit(std::string_view text, const std::optional<std::string>& sep, long maxsplit = -1);
/// str.splitlines() (on \n, \r\n and \r).
std::vector<std::string> splitlines(std::string_view text);

/// str.replace(old, new, count); count < 0 replaces all. An empty `old` inserts between code points.
std::string replace(std::string_view text, std::string_view old, std::string_view replacement, long count = -1);

std::string upper(std::string_view text);
std::string lower(std::string_view text);
/// str.title(): a letter after a non-letter goes upper case, every other letter lower case.
std::string title(std::string_view text);
/// Jinja's |title filter (not str.title): each word, split at whitespace and - ( { [ <, starts
/// upper case and continues lower case, so "it's" becomes "It's".
std::string jinja_title(std::string_view text);
/// str.capitalize(): the first character upper case, the rest lower case.
std::string capitalize(std::string_view text);

/// Python slicing text[start:stop:step] over code points; absent bounds are std::nullopt.
std::string slice(std::string_view text, std::optional<long> start, std::optional<long> stop, std::optional<long> step);
/// The indices Python's slice picks from a sequence of `size` elements.
std::vector<std::size_t> slice_indices(std::size_t size, std::optional<long> start, std::optional<long> stop,
                                       std::optional<long> step);

}  // namespace ds::engine::chat_template::py
