#include "engine/io/safetensors_header.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>

#include "common/error.hpp"

namespace ds::engine::io {
namespace {

/// A whole file written by hand from the safetensors README: an 8-byte little-endian header
/// length, the JSON header, then `data_bytes` of data; `length` overrides the length prefix.
std::vector<std::byte> file_bytes(const std::string& header, std::size_t data_bytes,
                                  std::optional<std::uint64_t> length = std::nullopt) {
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{1});
  std::uint64_t n = length.value_or(header.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

std::string error_of(const std::vector<std::byte>& bytes) {
  try {
    parse_safetensors_header(bytes, "m.safetensors");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SafetensorsHeader, ParsesEntriesSortedByNameWithMetadataAndPadding) {
  // Laid out by hand: b [0, 8), a [8, 14), s [14, 22), z empty at 22; padded with spaces as HF does.
  const std::string header =
      R"({"b": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]},
          "a": {"dtype": "BF16", "shape": [3], "data_offsets": [8, 14]},
          "s": {"dtype": "I64", "shape": [], "data_offsets": [14, 22]},
          "z": {"dtype": "U8", "shape": [0, 5], "data_offsets": [22, 22]},
          "__metadata__": {"format": "pt", "note": ""}}   )";
  SafetensorsHeader h = parse_safetensors_header(file_bytes(header, 22), "m.safetensors");
  EXPECT_EQ(h.data_start, 8 + header.size());
  EXPECT_EQ(h.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"note", ""}}));
  ASSERT_EQ(h.entries.size(), 4u);
  struct Want {
    const char* name;
    const char* dtype;
    std::size_t element_bytes;
    std::vector<std::int64_t> shape;
    std::uint64_t begin, end;
  };
  const Want want[] = {{"a", "BF16", 2, {3}, 8, 14},
                       {"b", "F32", 4, {2, 1}, 0, 8},
                       {"s", "I64", 8, {}, 14, 22},
                       {"z", "U8", 1, {0, 5}, 22, 22}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& e = h.entries[i];
    EXPECT_EQ(e.name, want[i].name);
    EXPECT_EQ(e.dtype_name, want[i].dtype) << e.name;
    EXPECT_EQ(e.element_bytes, want[i].element_bytes) << e.name;
    EXPECT_EQ(e.shape, want[i].shape) << e.name;
    EXPECT_EQ(e.begin, want[i].begin) << e.name;
    EXPECT_EQ(e.end, want[i].end) << e.name;
  }
}

TEST(SafetensorsHeader, EmptyHeaderIsAnEmptyFile) {
  SafetensorsHeader h = parse_safetensors_header(file_bytes("{}", 0), "m.safetensors");
  EXPECT_EQ(h.data_start, 10u);
  EXPECT_TRUE(h.entries.empty());
  EXPECT_TRUE(h.metadata.empty());
}

TEST(SafetensorsHeader, EveryDtypeHasItsSpecElementSize) {
  // Element sizes from the safetensors README's dtype list.
  const std::pair<const char*, std::size_t> sizes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                                       {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  for (const auto& [dtype, bytes] : sizes) {
    const std::string n = std::to_string(3 * bytes);
    auto h = parse_safetensors_header(
        file_bytes(std::string(R"({"t": {"dtype": ")") + dtype + R"(", "shape": [3], "data_offsets": [0, )" + n + "]}}",
                   3 * bytes),
        "m.safetensors");
    ASSERT_EQ(h.entries.size(), 1u);
    EXPECT_EQ(h.entries[0].element_bytes, bytes) << dtype;
  }
  EXPECT_EQ(safetensors_dtype_list(), "BF16, BOOL, F16, F32, F64, I16, I32, I64, I8, U8");
}

TEST(SafetensorsHeader, MalformedHeadersGetExactMessages) {
  struct Case {
    std::vector<std::byte> file;
    std::string message;  // after "m.safetensors: "
  };
  const std::string w = R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
  const std::string tiny = "12345";
  const Case cases[] = {
      {std::vector<std::byte>(reinterpret_cast<const std::byte*>(tiny.data()),
                              reinterpret_cast<const std::byte*>(tiny.data()) + tiny.size()),
       "too small to be a safetensors file (got 5 bytes); expected at least 8 bytes"},
      {file_bytes("{}", 0, 200000000),
       "header length is over the limit (got 200000000 bytes); expected at most 100000000; hint: this is not a "
       "safetensors file, or it is corrupt"},
      {file_bytes("{}", 10, 100),
       "header runs past the end of the file (got 100 header bytes in a 20-byte file); hint: the file is truncated"},
      {file_bytes("[1, 2]", 0), "header does not start with '{'"},
      {file_bytes("{" + w + ", " + w + "}", 8), "duplicate tensor name 'w' in the header"},
      {file_bytes(R"({"w": 5})", 0), "tensor 'w': entry must be an object (got 5)"},
      {file_bytes(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}})", 4),
       "tensor 'w': unexpected field 'x'"},
      {file_bytes(R"({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})", 1),
       "tensor 'w': unsupported dtype (got \"F8_E4M3\"); expected one of BF16, BOOL, F16, F32, F64, I16, I32, I64, I8, "
       "U8"},
      {file_bytes(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4), "tensor 'w': missing or non-string 'dtype'"},
      {file_bytes(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
       "tensor 'w': 'shape' must be a list of non-negative integers (got [-1])"},
      {file_bytes(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8),
       "tensor 'w': 'data_offsets' must be [begin, end] with 0 <= begin <= end (got [8,4])"},
      {file_bytes(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}})", 12),
       "tensor 'w': shape and dtype do not match the byte length (got 12 bytes at [0, 12]); expected 2 x F32 = 8 bytes"},
      {file_bytes(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
       "tensor 'w': data_offsets run past the end of the data (got [0, 16]); expected at most 8 bytes; hint: the file "
       "is truncated"},
      {file_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                  12),
       "tensors 'a' and 'b' overlap (got [0, 8] and [4, 12])"},
      {file_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                      "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                  12),
       "bytes 4..8 of the data before tensor 'b' belong to no tensor"},
      {file_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8),
       "4 bytes at the end of the data belong to no tensor; hint: the header and the data disagree; the file is "
       "corrupt"},
      {file_bytes(R"({"__metadata__": {"format": 1}})", 0),
       "__metadata__ must map strings to strings (got \"format\": 1)"},
      // Found or guarded while fuzzing (tests/fuzz/safetensors_fuzz.cpp): deep nesting would overflow
      // the stack in nlohmann's dump, a number too large for a double escaped as out_of_range, and
      // dimensions over int64 (or whose product is) reached torch as negative sizes.
      {file_bytes("{\"w\": " + std::string(100, '[') + std::string(100, ']') + "}", 0),
       "header nests too deeply; expected at most 64 levels; hint: this is not a safetensors file, or it is corrupt"},
      {file_bytes(R"({"w": 1e999})", 0),
       "header is not valid JSON (got [json.exception.out_of_range.406] number overflow parsing '1e999')"},
      {file_bytes(R"({"w": {"dtype": "F32", "shape": [9223372036854775808, 0], "data_offsets": [0, 0]}})", 0),
       "tensor 'w': shape overflows (got [9223372036854775808,0])"},
      {file_bytes(R"({"w": {"dtype": "F32", "shape": [0, 4611686018427387904, 4], "data_offsets": [0, 0]}})", 0),
       "tensor 'w': shape overflows (got [0,4611686018427387904,4])"},
      {file_bytes(R"({"w": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 0]}})", 0),
       "tensor 'w': shape overflows (got [4611686018427387904])"},
  };
  for (const auto& c : cases) EXPECT_EQ(error_of(c.file), "m.safetensors: " + c.message);
  std::string json_error = error_of(file_bytes(R"({"w": )", 0));
  EXPECT_EQ(json_error.rfind("m.safetensors: header is not valid JSON (got ", 0), 0u) << json_error;
}

TEST(SafetensorsHeader, HeaderTextEdgeCases) {
  EXPECT_EQ(error_of(file_bytes("{}", 0, 100'000'001)),
            "m.safetensors: header length is over the limit (got 100000001 bytes); expected at most 100000000; hint: "
            "this is not a safetensors file, or it is corrupt");
  // The README: the header "must begin with the { character"; it may be padded with spaces after.
  EXPECT_EQ(error_of(file_bytes("", 0)), "m.safetensors: header does not start with '{'");
  EXPECT_EQ(error_of(file_bytes(" {}", 0)), "m.safetensors: header does not start with '{'");
  std::string garbage = error_of(file_bytes("{} x", 0));
  EXPECT_EQ(garbage.rfind("m.safetensors: header is not valid JSON (got ", 0), 0u) << garbage;
  // An empty tensor inside another one's bytes is an overlap, as in the Rust reader.
  EXPECT_EQ(error_of(file_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                    "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
                                8)),
            "m.safetensors: tensors 'a' and 'e' overlap (got [0, 8] and [4, 4])");
  EXPECT_EQ(error_of(file_bytes(R"({"__metadata__": ["x"]})", 0)),
            "m.safetensors: __metadata__ must map strings to strings (got [\"x\"])");
}

}  // namespace
}  // namespace ds::engine::io
