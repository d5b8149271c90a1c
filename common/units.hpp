#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ds {

inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
inline constexpr double kMiB = 1024.0 * 1024.0;

/// "12.34 GiB" (2 decimals), "512.00 MiB" below 1 GiB, "123 B" below 1 KiB.
std::string format_bytes(double bytes);

/// "1.23 B" / "124.4 M" / "6.74 B" style parameter counts (B = billions).
std::string format_count(double count);

/// Thousands separators: 124439808 -> "124,439,808".
std::string format_thousands(std::uint64_t value);

/// Parses "80GB", "80G", "80GiB", "512MiB", "1.5e9", "1024" into bytes. GB = 1e9, GiB = 2^30,
/// a bare "G" means GiB (like nvidia-smi). Throws UsageError naming `what` on bad input.
double parse_bytes(std::string_view text, std::string_view what);

/// Parses "7e9", "7B", "70b", "125M", "1.5k" into a count. Throws UsageError naming `what`.
double parse_count(std::string_view text, std::string_view what);

}  // namespace ds
