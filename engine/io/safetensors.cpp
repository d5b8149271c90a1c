#include "engine/io/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "engine/io/file_io.hpp"

namespace ds::engine::io {
namespace {

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
};

// The torch dtype of each name parse_safetensors_header accepts.
constexpr DtypeInfo kDtypes[] = {{"F64", torch::kDouble}, {"F32", torch::kFloat},  {"F16", torch::kHalf},
                                 {"BF16", torch::kBFloat16}, {"I64", torch::kLong}, {"I32", torch::kInt},
                                 {"I16", torch::kShort},  {"I8", torch::kChar},     {"U8", torch::kByte},
                                 {"BOOL", torch::kBool}};

TensorEntry to_tensor_entry(SafetensorsHeaderEntry&& h) {
  TensorEntry e{std::move(h.name), std::move(h.dtype_name), torch::kFloat, std::move(h.shape), h.begin, h.end};
  const DtypeInfo* info = nullptr;
  for (const auto& d : kDtypes) info = e.dtype_name == d.name ? &d : info;
  // The two tables agree; a mismatch is a bug here, not in the file.
  if (info == nullptr || c10::elementSize(info->type) != h.element_bytes) {
    throw RuntimeError("safetensors: no torch dtype for \"" + e.dtype_name + "\" (a bug in ds)");
  }
  e.dtype = info->type;
  return e;
}

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
  throw UsageError(
      format_error("safetensors", "unsupported dtype", c10::toString(dtype), "one of " + safetensors_dtype_list()));
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(MappedFile::open(path)) {
  SafetensorsHeader header = parse_safetensors_header(
      std::span(reinterpret_cast<const std::byte*>(file_->data()), file_->size()), path.string());
  data_start_ = header.data_start;
  metadata_ = std::move(header.metadata);
  entries_.reserve(header.entries.size());
  for (auto& h : header.entries) entries_.push_back(to_tensor_entry(std::move(h)));
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
