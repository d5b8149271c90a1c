// SafetensorsReader (single file, sharded index or directory) and the sharded writer.
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/suggest.hpp"
#include "engine/io/safetensors.hpp"

namespace ds::engine::io {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& where, const std::string& what, const std::string& got = {},
                       const std::string& expected = {}, const std::string& hint = {}) {
  throw UsageError(format_error(where.string(), what, got, expected, hint));
}

/// The weight_map of an index file: tensor name -> shard file name (a plain name beside the index).
std::map<std::string, std::string> read_weight_map(const fs::path& index) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index));
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number such as 1e999
    fail(index, "not valid JSON", e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    fail(index, "missing the \"weight_map\" object", "", "{\"weight_map\": {\"<tensor>\": \"<shard>.safetensors\"}}");
  }
  std::map<std::string, std::string> map;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) fail(index, "weight_map[\"" + name + "\"] must be a file name", file.dump());
    std::string f = file.get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..") {
      fail(index, "weight_map[\"" + name + "\"] must name a file beside the index", "\"" + f + "\"");
    }
    map[name] = f;
  }
  if (map.empty()) fail(index, "the weight_map is empty");
  return map;
}

std::uint64_t tensor_bytes(const torch::Tensor& t) {
  return static_cast<std::uint64_t>(t.numel()) * c10::elementSize(t.scalar_type());
}

}  // namespace

SafetensorsReader::SafetensorsReader(const fs::path& path) : source_(path) {
  fs::path index;
  if (fs::is_directory(path)) {
    if (fs::exists(path / kIndexFileName)) {
      index = path / kIndexFileName;
    } else if (fs::exists(path / "model.safetensors")) {
      source_ = path / "model.safetensors";
    } else {
      fail(path, std::string("no model.safetensors or ") + kIndexFileName + " in this directory");
    }
  } else if (path.extension() == ".json") {
    index = path;
  }
  if (index.empty()) {
    shards_.push_back(std::make_unique<SafetensorsFile>(source_));
    for (const auto& e : shards_[0]->entries()) where_[e.name] = 0;
    return;
  }
  source_ = index;
  std::map<std::string, std::string> map = read_weight_map(index);
  std::map<std::string, std::size_t> shard_of_file;
  for (const auto& [name, file] : map) shard_of_file.emplace(file, 0);
  for (auto& [file, i] : shard_of_file) {
    i = shards_.size();
    shards_.push_back(std::make_unique<SafetensorsFile>(index.parent_path() / file));
  }
  for (const auto& [name, file] : map) {
    std::size_t i = shard_of_file.at(file);
    if (!shards_[i]->contains(name)) {
      fail(index, "tensor '" + name + "' is listed in shard '" + file + "', which does not contain it");
    }
    where_[name] = i;
  }
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    for (const auto& e : shards_[i]->entries()) {
      auto it = where_.find(e.name);
      if (it == where_.end() || it->second != i) {
        fail(shards_[i]->path(), "tensor '" + e.name + "' is not mapped to this shard in " + index.filename().string(),
             "", "", "the index and the shards come from different saves");
      }
    }
  }
}

std::vector<std::string> SafetensorsReader::names() const {
  std::vector<std::string> out;
  for (const auto& [name, i] : where_) out.push_back(name);
  return out;
}

bool SafetensorsReader::contains(const std::string& name) const { return where_.count(name) > 0; }

torch::Tensor SafetensorsReader::tensor(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail(source_, "no tensor named '" + name + "'" + did_you_mean(name, names()));
  return shards_[it->second]->tensor(name);
}

std::map<std::string, torch::Tensor> SafetensorsReader::tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, i] : where_) out.emplace(name, shards_[i]->tensor(name));
  return out;
}

const std::map<std::string, std::string>& SafetensorsReader::metadata() const { return shards_.front()->metadata(); }

std::vector<fs::path> SafetensorsReader::files() const {
  std::vector<fs::path> out;
  for (const auto& s : shards_) out.push_back(s->path());
  return out;
}

std::vector<fs::path> save_safetensors_sharded(const fs::path& dir, const std::vector<NamedTensor>& tensors,
                                               const ShardOptions& options) {
  fs::create_directories(dir);
  std::vector<NamedTensor> sorted = tensors;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::uint64_t total = 0;
  for (const auto& [name, t] : sorted) total += tensor_bytes(t);
  std::error_code ec;
  if (total <= options.max_shard_bytes) {
    fs::remove(dir / kIndexFileName, ec);  // a stale index would win over the new file
    save_safetensors(dir / "model.safetensors", sorted, options.metadata);
    return {dir / "model.safetensors"};
  }
  std::vector<std::vector<NamedTensor>> shards(1);
  std::uint64_t in_shard = 0;
  for (const auto& nt : sorted) {
    std::uint64_t b = tensor_bytes(nt.second);
    if (!shards.back().empty() && in_shard + b > options.max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(nt);
    in_shard += b;
  }
  std::vector<fs::path> written;
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t i = 0; i < shards.size(); ++i) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    save_safetensors(dir / file, shards[i], options.metadata);
    for (const auto& [name, t] : shards[i]) weight_map[name] = file;
    written.push_back(dir / file);
  }
  fs::remove(dir / "model.safetensors", ec);
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_file_atomic(dir / kIndexFileName, index.dump(2) + "\n");
  written.push_back(dir / kIndexFileName);
  return written;
}

}  // namespace ds::engine::io
