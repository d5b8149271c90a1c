#include "engine/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "engine/io/file_io.hpp"

namespace ds::engine::io {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors is little-endian; so is every host ds targets");

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
};

// The safetensors dtypes LibTorch 1.13 has a type for (no U16/U32/U64/F8 there).
constexpr DtypeInfo kDtypes[] = {{"F64", torch::kDouble}, {"F32", torch::kFloat},  {"F16", torch::kHalf},
                                 {"BF16", torch::kBFloat16}, {"I64", torch::kLong}, {"I32", torch::kInt},
                                 {"I16", torch::kShort},  {"I8", torch::kChar},     {"U8", torch::kByte},
                                 {"BOOL", torch::kBool}};

std::string dtype_list() {
  std::vector<std::string> names;
  for (const auto& d : kDtypes) names.push_back(d.name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

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

  TensorEntry entry(const std::string& name, const nlohmann::json& v) const {
    const std::string t = "tensor '" + name + "': ";
    if (!v.is_object()) fail(t + "entry must be an object", v.dump());
    for (const auto& [key, value] : v.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") fail(t + "unexpected field '" + key + "'");
    }
    TensorEntry e;
    e.name = name;
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail(t + "missing or non-string 'dtype'");
    e.dtype_name = v["dtype"].get<std::string>();
    const DtypeInfo* info = nullptr;
    for (const auto& d : kDtypes) info = e.dtype_name == d.name ? &d : info;
    if (info == nullptr) fail(t + "unsupported dtype", "\"" + e.dtype_name + "\"", "one of " + dtype_list());
    e.dtype = info->type;
    std::uint64_t numel = 1;
    const nlohmann::json* shape = v.contains("shape") ? &v["shape"] : nullptr;
    if (shape == nullptr || !shape->is_array()) fail(t + "'shape' must be a list of non-negative integers");
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) fail(t + "'shape' must be a list of non-negative integers", shape->dump());
      e.shape.push_back(d.get<std::int64_t>());
      if (__builtin_mul_overflow(numel, d.get<std::uint64_t>(), &numel)) fail(t + "shape overflows", shape->dump());
    }
    const nlohmann::json* off = v.contains("data_offsets") ? &v["data_offsets"] : nullptr;
    if (off == nullptr || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned() || (*off)[0].get<std::uint64_t>() > (*off)[1].get<std::uint64_t>()) {
      fail(t + "'data_offsets' must be [begin, end] with 0 <= begin <= end", off ? off->dump() : "nothing");
    }
    e.begin = (*off)[0].get<std::uint64_t>();
    e.end = (*off)[1].get<std::uint64_t>();
    std::uint64_t bytes = 0;
    std::uint64_t elem = c10::elementSize(e.dtype);
    if (__builtin_mul_overflow(numel, elem, &bytes) || bytes != e.end - e.begin) {
      fail(t + "shape and dtype do not match the byte length",
           std::to_string(e.end - e.begin) + " bytes at " + range_text(e.begin, e.end),
           std::to_string(numel) + " x " + e.dtype_name + " = " + std::to_string(numel * elem) + " bytes");
    }
    if (e.end > data_size_) {
      fail(t + "data_offsets run past the end of the data", range_text(e.begin, e.end),
           "at most " + std::to_string(data_size_) + " bytes", "the file is truncated");
    }
    return e;
  }

  /// Tensors must tile [0, data size) exactly: sorted by offset, each begins where the last ended.
  void coverage(std::vector<TensorEntry> entries) const {
    std::sort(entries.begin(), entries.end(),
              [](const TensorEntry& a, const TensorEntry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
    std::uint64_t expected = 0;
    const TensorEntry* last = nullptr;
    for (const auto& e : entries) {
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
  std::string file_;
  std::uint64_t data_size_;
};

/// Entries are sorted by name.
const TensorEntry* find_entry(const std::vector<TensorEntry>& entries, const std::string& name) {
  auto it = std::lower_bound(entries.begin(), entries.end(), name,
                             [](const TensorEntry& e, const std::string& n) { return e.name < n; });
  return it != entries.end() && it->name == name ? &*it : nullptr;
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType dtype) {
  for (const auto& d : kDtypes) {
    if (d.type == dtype) return d.name;
  }
  throw UsageError(format_error("safetensors", "unsupported dtype", c10::toString(dtype), "one of " + dtype_list()));
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(MappedFile::open(path)) {
  const std::uint64_t size = file_->size();
  HeaderChecker early(path.string(), 0);
  if (size < 8) early.fail("too small to be a safetensors file", std::to_string(size) + " bytes", "at least 8 bytes");
  std::uint64_t n = 0;
  std::memcpy(&n, file_->data(), 8);
  if (n > kMaxHeaderBytes) {
    early.fail("header length is over the limit", std::to_string(n) + " bytes",
               "at most " + std::to_string(kMaxHeaderBytes), "this is not a safetensors file, or it is corrupt");
  }
  if (n > size - 8) {
    early.fail("header runs past the end of the file",
               std::to_string(n) + " header bytes in a " + std::to_string(size) + "-byte file", "",
               "the file is truncated");
  }
  std::string_view text(reinterpret_cast<const char*>(file_->data()) + 8, n);
  if (text.empty() || text.front() != '{') early.fail("header does not start with '{'");
  std::set<std::string> keys;
  std::string duplicate;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (depth == 1 && event == nlohmann::json::parse_event_t::key && !keys.insert(parsed.get<std::string>()).second) {
        duplicate = parsed.get<std::string>();
      }
      return true;
    });
  } catch (const nlohmann::json::parse_error& e) {
    early.fail("header is not valid JSON", e.what());
  }
  if (!duplicate.empty()) early.fail("duplicate tensor name '" + duplicate + "' in the header");
  data_start_ = 8 + n;
  HeaderChecker check(path.string(), size - data_start_);
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) check.fail("__metadata__ must map strings to strings", value.dump());
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) check.fail("__metadata__ must map strings to strings", "\"" + k + "\": " + v.dump());
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    entries_.push_back(check.entry(name, value));
  }
  check.coverage(entries_);
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

const std::filesystem::path& SafetensorsFile::path() const { return file_->path(); }

bool SafetensorsFile::contains(const std::string& name) const { return find_entry(entries_, name) != nullptr; }

const TensorEntry& SafetensorsFile::entry(const std::string& name) const {
  const TensorEntry* e = find_entry(entries_, name);
  if (e == nullptr) {
    std::vector<std::string> names;
    for (const auto& x : entries_) names.push_back(x.name);
    throw UsageError(format_error(path().string(), "no tensor named '" + name + "'" + did_you_mean(name, names)));
  }
  return *e;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorEntry& e = entry(name);
  std::uint8_t* ptr = file_->data() + data_start_ + e.begin;
  auto options = torch::TensorOptions().dtype(e.dtype);
  if (reinterpret_cast<std::uintptr_t>(ptr) % c10::elementSize(e.dtype) == 0) {
    std::shared_ptr<MappedFile> keep = file_;
    return torch::from_blob(ptr, e.shape, [keep](void*) {}, options);
  }
  torch::Tensor out = torch::empty(e.shape, options);
  std::memcpy(out.data_ptr(), ptr, e.end - e.begin);
  return out;
}

std::map<std::string, torch::Tensor> SafetensorsFile::tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : entries_) out.emplace(e.name, tensor(e.name));
  return out;
}

void save_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  struct Item {
    std::string name;
    torch::Tensor data;
    std::size_t elem;
  };
  std::vector<Item> items;
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || !names.insert(name).second) {
      throw UsageError(format_error(path.string(), "cannot write tensor name '" + name + "'",
                                    name == "__metadata__" ? "a reserved name" : "a duplicate"));
    }
    safetensors_dtype_name(t.scalar_type());  // throws for unsupported dtypes
    items.push_back({name, t.detach().to(torch::kCPU).contiguous(), c10::elementSize(t.scalar_type())});
  }
  // Largest elements first keeps every tensor aligned to its element size in the file.
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.elem != b.elem ? a.elem > b.elem : a.name < b.name; });
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& it : items) {
    std::uint64_t bytes = static_cast<std::uint64_t>(it.data.numel()) * it.elem;
    header[it.name] = {{"dtype", safetensors_dtype_name(it.data.scalar_type())},
                       {"shape", it.data.sizes().vec()},
                       {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // HF pads with spaces so the data starts 8-aligned
  std::uint64_t n = text.size();
  AtomicFileWriter out(path);
  out.write(&n, 8);
  out.write(text.data(), text.size());
  for (const auto& it : items) out.write(it.data.data_ptr(), static_cast<std::size_t>(it.data.numel()) * it.elem);
  out.commit();
}

}  // namespace ds::engine::io
