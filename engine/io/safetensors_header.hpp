#pragma once
// The torch-free half of the safetensors reader: parses and validates a file's header (format in
// safetensors.hpp) so it can be fuzzed without LibTorch (tests/fuzz/safetensors_fuzz.cpp).
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace ds::engine::io {

/// The JSON header may not exceed this (the Rust reference implementation's limit, 100 MB).
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

/// JSON nesting deeper than this is refused before it is walked (a valid header nests 3 deep).
inline constexpr int kMaxHeaderDepth = 64;

/// One tensor's entry in the header, as written there.
struct SafetensorsHeaderEntry {
  std::string name;
  std::string dtype_name;          ///< "F32", "BF16", ...
  std::size_t element_bytes = 0;   ///< bytes per element of dtype_name
  std::vector<std::int64_t> shape; ///< each dimension fits int64, and so does their product (zeros as 1)
  std::uint64_t begin = 0;         ///< data_offsets, relative to the start of the data
  std::uint64_t end = 0;
};

/// A validated header.
struct SafetensorsHeader {
  std::uint64_t data_start = 0;                 ///< bytes before the data: 8 + header length
  std::vector<SafetensorsHeaderEntry> entries;  ///< sorted by name
  std::map<std::string, std::string> metadata;  ///< __metadata__
};

/// The safetensors dtypes ds reads, sorted and comma-separated ("BF16, BOOL, F16, ...").
std::string safetensors_dtype_list();

/// Parses the header of a whole safetensors file and checks it strictly: header size within the
/// file and kMaxHeaderBytes, JSON object with no duplicate names, known dtypes, shape x dtype
/// size == byte length (with overflow checks), offsets inside the data, tensors contiguous,
/// non-overlapping and covering the data exactly, __metadata__ a string map. Every violation is
/// a UsageError beginning "<file_name_for_errors>: " (and naming the tensor).
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           const std::string& file_name_for_errors);

}  // namespace ds::engine::io
