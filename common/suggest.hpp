#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds {

/// Levenshtein distance (insert, delete, substitute, each cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` by edit distance, if it is close enough to be a plausible typo
/// (distance <= max(2, |word|/3)). Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// "; did you mean 'x'?" when a close candidate exists, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Up to `n` candidates ordered by edit distance to `word` (for "nearest presets" lists).
std::vector<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates, std::size_t n);

}  // namespace ds
