#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ds {

/// SHA-256 (FIPS 180-4) of `data` as 32 raw bytes. Used for stable content hashes (the trials
/// table keys runs by the hash of their canonical DeepSpeed JSON), not for security decisions.
std::array<std::uint8_t, 32> sha256(std::string_view data);

/// SHA-256 of `data` as 64 lowercase hex digits, like `sha256sum` and Python's hexdigest().
std::string sha256_hex(std::string_view data);

}  // namespace ds
