#include "engine/checkpoint/zero_fragments.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "common/error.hpp"
#include "engine/io/safetensors.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNameForm = "<kind>/<param name>/<offset>";

/// A non-negative decimal integer, or nullopt.
std::optional<std::int64_t> parse_count(const std::string& text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

int metadata_int(const std::map<std::string, std::string>& meta, const std::string& key, const fs::path& file) {
  auto it = meta.find(key);
  std::optional<std::int64_t> value = it == meta.end() ? std::nullopt : parse_count(it->second);
  if (!value) {
    throw UsageError(format_error(file.string(), "__metadata__ \"" + key + "\" is not a count",
                                  it == meta.end() ? "nothing" : "\"" + it->second + "\"", "a decimal string",
                                  "the shard is corrupt or was not written by ds"));
  }
  return static_cast<int>(*value);
}

Fragment parse_fragment(const io::TensorEntry& entry, const io::SafetensorsFile& shard) {
  const std::string& name = entry.name;
  auto first = name.find('/'), last = name.rfind('/');
  std::optional<std::int64_t> offset = last == std::string::npos ? std::nullopt : parse_count(name.substr(last + 1));
  if (first == 0 || first == last || last == first + 1 || !offset) {
    throw UsageError(format_error(shard.path().string(), "tensor name '" + name + "' is not a fragment name", "",
                                  kNameForm, "the shard is corrupt or was not written by ds"));
  }
  if (entry.dtype != torch::kFloat || entry.shape.size() != 1) {
    std::string shape;
    for (auto d : entry.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    throw UsageError(format_error(shard.path().string(), "fragment '" + name + "' is not a 1-D F32 tensor",
                                  entry.dtype_name + " [" + shape + "]", "F32 [n]"));
  }
  return {name.substr(0, first), name.substr(first + 1, last - first - 1), *offset, shard.tensor(name)};
}

}  // namespace

std::string zero_shard_file_name(int rank) { return "zero_shard_rank" + std::to_string(rank) + ".safetensors"; }

void write_fragment_shard(const fs::path& file, int rank, int world_size, int zero_stage,
                          const std::vector<Fragment>& fragments) {
  std::vector<io::NamedTensor> tensors;
  tensors.reserve(fragments.size());
  for (const Fragment& f : fragments) {
    const std::string name = f.kind + "/" + f.param + "/" + std::to_string(f.offset);
    if (f.kind.empty() || f.kind.find('/') != std::string::npos || f.param.empty() || f.offset < 0) {
      throw RuntimeError(format_error(file.string(), "cannot write fragment '" + name + "'", "", kNameForm,
                                      "a kind without '/', a non-empty parameter name and an offset >= 0"));
    }
    if (!f.values.defined() || f.values.scalar_type() != torch::kFloat) {
      throw RuntimeError(format_error(file.string(), "fragment '" + name + "' must hold fp32 values",
                                      f.values.defined() ? c10::toString(f.values.scalar_type()) : "undefined",
                                      "Float"));
    }
    if (f.values.numel() == 0) continue;
    tensors.emplace_back(name, f.values.reshape({-1}));
  }
  io::save_safetensors(file, tensors,
                       {{"format", kFragmentFormat},
                        {"rank", std::to_string(rank)},
                        {"world_size", std::to_string(world_size)},
                        {"zero_stage", std::to_string(zero_stage)}});
}

FragmentShard read_fragment_shard(const fs::path& file) {
  io::SafetensorsFile shard(file);
  const auto& meta = shard.metadata();
  auto format = meta.find("format");
  if (format == meta.end() || format->second != kFragmentFormat) {
    throw UsageError(format_error(file.string(), "not a ZeRO fragment shard",
                                  format == meta.end() ? "no __metadata__ \"format\"" : "format \"" + format->second + "\"",
                                  std::string("format \"") + kFragmentFormat + "\""));
  }
  FragmentShard out;
  out.rank = metadata_int(meta, "rank", file);
  out.world_size = metadata_int(meta, "world_size", file);
  out.zero_stage = metadata_int(meta, "zero_stage", file);
  out.fragments.reserve(shard.entries().size());
  for (const io::TensorEntry& entry : shard.entries()) out.fragments.push_back(parse_fragment(entry, shard));
  return out;
}

std::vector<Fragment> partition_fragments(const std::string& kind, const train::FlatLayout& layout,
                                          std::int64_t partition_offset, const torch::Tensor& partition) {
  std::vector<Fragment> out;
  const std::int64_t begin = partition_offset, end = partition_offset + partition.numel();
  for (const train::FlatSlot& slot : layout.slots()) {
    std::int64_t lo = std::max(begin, slot.offset), hi = std::min(end, slot.offset + slot.numel);
    if (lo >= hi) continue;
    out.push_back({kind, slot.name, lo - slot.offset, partition.reshape({-1}).narrow(0, lo - begin, hi - lo)});
  }
  return out;
}

}  // namespace ds::engine::checkpoint
