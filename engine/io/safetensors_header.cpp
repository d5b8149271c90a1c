#include "engine/io/safetensors_header.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ds::engine::io {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors is little-endian; so is every host ds targets");

struct DtypeInfo {
  const char* name;
  std::size_t bytes;
};

// The safetensors dtypes LibTorch 1.13 has a type for (no U16/U32/U64/F8 there); safetensors.cpp
// maps each name to its torch dtype.
constexpr DtypeInfo kDtypes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                 {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};

constexpr std::uint64_t kMaxInt64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string range_text(std::uint64_t begin, std::uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

/// Parses and checks one tensor entry (everything but its place among the others).
class HeaderChecker {
 public:
  HeaderChecker(std::string file, std::uint64_t data_size) : file_(std::move(file)), data_size_(data_size) {}

  [[noreturn]] void fail(const std::string& what, const std::string& got = {}, const std::string& expected = {},
                         const std::string& hint = {}) const {
    throw UsageError(format_error(file_, what, got, expected, hint));
  }

  SafetensorsHeaderEntry entry(const std::string& name, const nlohmann::json& v) const {
    const std::string t = "tensor '" + name + "': ";
    if (!v.is_object()) fail(t + "entry must be an object", v.dump());
    for (const auto& [key, value] : v.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") fail(t + "unexpected field '" + key + "'");
    }
    SafetensorsHeaderEntry e;
    e.name = name;
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail(t + "missing or non-string 'dtype'");
    e.dtype_name = v["dtype"].get<std::string>();
    for (const auto& d : kDtypes) e.element_bytes = e.dtype_name == d.name ? d.bytes : e.element_bytes;
    if (e.element_bytes == 0) {
      fail(t + "unsupported dtype", "\"" + e.dtype_name + "\"", "one of " + safetensors_dtype_list());
    }
    const std::uint64_t numel = shape(e, t, v);
    const nlohmann::json* off = v.contains("data_offsets") ? &v["data_offsets"] : nullptr;
    if (off == nullptr || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned() || (*off)[0].get<std::uint64_t>() > (*off)[1].get<std::uint64_t>()) {
      fail(t + "'data_offsets' must be [begin, end] with 0 <= begin <= end", off ? off->dump() : "nothing");
    }
    e.begin = (*off)[0].get<std::uint64_t>();
    e.end = (*off)[1].get<std::uint64_t>();
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, std::uint64_t{e.element_bytes}, &bytes)) {
      fail(t + "shape overflows", v["shape"].dump());
    }
    if (bytes != e.end - e.begin) {
      fail(t + "shape and dtype do not match the byte length",
           std::to_string(e.end - e.begin) + " bytes at " + range_text(e.begin, e.end),
           std::to_string(numel) + " x " + e.dtype_name + " = " + std::to_string(bytes) + " bytes");
    }
    if (e.end > data_size_) {
      fail(t + "data_offsets run past the end of the data", range_text(e.begin, e.end),
           "at most " + std::to_string(data_size_) + " bytes", "the file is truncated");
    }
    return e;
  }

  /// Tensors must tile [0, data size) exactly: sorted by offset, each begins where the last ended.
  void coverage(std::vector<SafetensorsHeaderEntry> entries) const {
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    std::uint64_t expected = 0;
    const SafetensorsHeaderEntry* last = nullptr;
    for (const auto& e : entries) {
      // Sorted by begin, so an overlap is always with the last non-empty tensor.
      if (e.begin < expected) {
        fail("tensors '" + last->name + "' and '" + e.name + "' overlap",
             range_text(last->begin, last->end) + " and " + range_text(e.begin, e.end));
      }
      if (e.begin > expected) {
        fail("bytes " + std::to_string(expected) + ".." + std::to_string(e.begin) + " of the data before tensor '" +
             e.name + "' belong to no tensor");
      }
      expected = e.end;
      if (e.end > e.begin) last = &e;
    }
    if (expected != data_size_) {
      fail(std::to_string(data_size_ - expected) + " bytes at the end of the data belong to no tensor", "", "",
           "the header and the data disagree; the file is corrupt");
    }
  }

 private:
  /// Fills e.shape and returns the element count. Every dimension, and their product with zeros
  /// counted as 1 (what torch's contiguous strides multiply), must fit int64.
  std::uint64_t shape(SafetensorsHeaderEntry& e, const std::string& t, const nlohmann::json& v) const {
    const nlohmann::json* shape = v.contains("shape") ? &v["shape"] : nullptr;
    if (shape == nullptr || !shape->is_array()) fail(t + "'shape' must be a list of non-negative integers");
    std::uint64_t numel = 1;
    std::uint64_t extent = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) fail(t + "'shape' must be a list of non-negative integers", shape->dump());
      const std::uint64_t n = d.get<std::uint64_t>();
      if (n > kMaxInt64 || __builtin_mul_overflow(extent, std::max<std::uint64_t>(n, 1), &extent) ||
          extent > kMaxInt64) {
        fail(t + "shape overflows", shape->dump());
      }
      numel *= n;  // cannot overflow: numel <= extent
      e.shape.push_back(static_cast<std::int64_t>(n));
    }
    return numel;
  }

  std::string file_;
  std::uint64_t data_size_;
};

/// Parses the header text, refusing duplicate top-level names and nesting past kMaxHeaderDepth
/// (nlohmann's dump, used in error messages, recurses once per level).
nlohmann::json parse_json(std::string_view text, const HeaderChecker& early) {
  std::set<std::string> keys;
  std::string duplicate;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (depth > kMaxHeaderDepth) {
        early.fail("header nests too deeply", "", "at most " + std::to_string(kMaxHeaderDepth) + " levels",
                   "this is not a safetensors file, or it is corrupt");
      }
      if (depth == 1 && event == nlohmann::json::parse_event_t::key && !keys.insert(parsed.get<std::string>()).second) {
        duplicate = parsed.get<std::string>();
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double (1e999).
    early.fail("header is not valid JSON", e.what());
  }
  if (!duplicate.empty()) early.fail("duplicate tensor name '" + duplicate + "' in the header");
  return header;
}

}  // namespace

std::string safetensors_dtype_list() {
  std::vector<std::string> names;
  for (const auto& d : kDtypes) names.push_back(d.name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           const std::string& file_name_for_errors) {
  const std::uint64_t size = file_bytes.size();
  HeaderChecker early(file_name_for_errors, 0);
  if (size < 8) early.fail("too small to be a safetensors file", std::to_string(size) + " bytes", "at least 8 bytes");
  std::uint64_t n = 0;
  std::memcpy(&n, file_bytes.data(), 8);
  if (n > kMaxHeaderBytes) {
    early.fail("header length is over the limit", std::to_string(n) + " bytes",
               "at most " + std::to_string(kMaxHeaderBytes), "this is not a safetensors file, or it is corrupt");
  }
  if (n > size - 8) {
    early.fail("header runs past the end of the file",
               std::to_string(n) + " header bytes in a " + std::to_string(size) + "-byte file", "",
               "the file is truncated");
  }
  std::string_view text(reinterpret_cast<const char*>(file_bytes.data()) + 8, n);
  if (text.empty() || text.front() != '{') early.fail("header does not start with '{'");
  const nlohmann::json json = parse_json(text, early);
  SafetensorsHeader header;
  header.data_start = 8 + n;
  HeaderChecker check(file_name_for_errors, size - header.data_start);
  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) check.fail("__metadata__ must map strings to strings", value.dump());
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) check.fail("__metadata__ must map strings to strings", "\"" + k + "\": " + v.dump());
        header.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    header.entries.push_back(check.entry(name, value));
  }
  check.coverage(header.entries);
  std::sort(header.entries.begin(), header.entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return header;
}

}  // namespace ds::engine::io
