#pragma once
// Hugging Face safetensors (https://github.com/huggingface/safetensors, format described in its
// README): an 8-byte little-endian header length N, N bytes of JSON
// {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"<key>": "<value>"}}, then the data; offsets are relative to the data start.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/safetensors_header.hpp"

namespace ds::engine::io {

class MappedFile;

/// A named tensor (a Hugging Face parameter name and its tensor).
using NamedTensor = std::pair<std::string, torch::Tensor>;

/// One tensor's entry in the header.
struct TensorEntry {
  std::string name;
  std::string dtype_name;             ///< "F32", "BF16", ...
  torch::ScalarType dtype = torch::kFloat;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;            ///< data_offsets, relative to the start of the data
  std::uint64_t end = 0;
};

/// The safetensors dtype name of a torch dtype ("F32", ...); throws UsageError for the others.
std::string safetensors_dtype_name(torch::ScalarType dtype);

/// A safetensors file, memory-mapped and validated strictly on open: header size within the
/// file and kMaxHeaderBytes, JSON object with no duplicate names, known dtypes (F64 F32 F16 BF16
/// I64 I32 I16 I8 U8 BOOL), shape x dtype size == byte length, offsets inside the data, tensors
/// contiguous, non-overlapping and covering the data exactly, __metadata__ a string map. Every
/// violation is a UsageError naming the file (and the tensor). The checks live in
/// parse_safetensors_header (torch-free, fuzzed).
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  /// Entries sorted by name.
  const std::vector<TensorEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  /// The entry of `name`; UsageError naming the file (with "did you mean") when absent.
  const TensorEntry& entry(const std::string& name) const;
  /// The tensor: zero-copy over the mapping when its data is aligned for the dtype (the mapping
  /// then lives as long as the tensor; it is copy-on-write, so in-place edits stay private),
  /// otherwise a copy.
  torch::Tensor tensor(const std::string& name) const;
  /// Every tensor, by name.
  std::map<std::string, torch::Tensor> tensors() const;

 private:
  std::shared_ptr<MappedFile> file_;
  std::uint64_t data_start_ = 0;
  std::vector<TensorEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

/// Writes tensors (any device; made contiguous on CPU) as a safetensors file, atomically: JSON
/// keys sorted, data laid out by element size (largest first) then name so every tensor is
/// aligned for its dtype, header padded with spaces to a multiple of 8 bytes (as HF's writer
/// does). Duplicate names or unsupported dtypes are UsageErrors; I/O failures RuntimeErrors.
void save_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// The file name of Hugging Face's sharded-weights index.
inline constexpr const char* kIndexFileName = "model.safetensors.index.json";

/// A model's weights in any of Hugging Face's layouts: one .safetensors file, a
/// `model.safetensors.index.json` (weight_map: tensor name -> shard file beside it), or a
/// directory holding either (the index wins). The index is checked against the shards: every
/// listed tensor must be in its shard and every shard tensor listed.
class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::filesystem::path& path);

  /// All tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  /// UsageError naming the file or index (with "did you mean") when absent.
  torch::Tensor tensor(const std::string& name) const;
  std::map<std::string, torch::Tensor> tensors() const;
  /// __metadata__ of the single file, or of the first shard.
  const std::map<std::string, std::string>& metadata() const;
  /// The files read (one, or the shards in index order).
  std::vector<std::filesystem::path> files() const;

 private:
  std::filesystem::path source_;                 ///< the file or index named in errors
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, std::size_t> where_;     ///< tensor name -> shard
};

/// How save_safetensors_sharded splits.
struct ShardOptions {
  std::uint64_t max_shard_bytes = 5'000'000'000;  ///< tensor bytes per shard (HF's default "5GB")
  std::map<std::string, std::string> metadata;    ///< __metadata__ of every shard
};

/// Writes `tensors` into directory `dir` the way Hugging Face's save_pretrained does:
/// "model.safetensors" when they fit in one shard, else "model-0000k-of-0000n.safetensors" plus
/// "model.safetensors.index.json" ({"metadata": {"total_size": bytes}, "weight_map": {...}}),
/// tensors assigned to shards in name order. Returns the files written (index last).
std::vector<std::filesystem::path> save_safetensors_sharded(const std::filesystem::path& dir,
                                                            const std::vector<NamedTensor>& tensors,
                                                            const ShardOptions& options = {});

}  // namespace ds::engine::io
