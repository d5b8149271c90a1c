#pragma once
// ZeRO stage 1/2 optimizer-state shards, one file per rank in a checkpoint tag directory:
//
//   zero_shard_rank<r>.safetensors   1-D fp32 "fragments" named "<kind>/<param name>/<offset>":
//                                    elements [offset, offset + numel) of that parameter's state
//                                    flattened row-major; kind is master | exp_avg | exp_avg_sq |
//                                    momentum_buffer. __metadata__: {"format": "ds-zero-fragments-1",
//                                    "rank": "<r>", "world_size": "<N>", "zero_stage": "<s>"}
//
// Fragments are cut at parameter boundaries, not at rank boundaries of some flat buffer, so any
// number of ranks at any stage (or one process at stage 0) can read them back by parameter name
// (ParamStates, param_states.hpp): resuming on another world size needs no conversion step.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/train/flat_params.hpp"

namespace ds::engine::checkpoint {

/// safetensors __metadata__["format"] of a fragment shard.
inline constexpr const char* kFragmentFormat = "ds-zero-fragments-1";

/// "zero_shard_rank<r>.safetensors".
std::string zero_shard_file_name(int rank);

/// A contiguous run of one parameter's optimizer state.
struct Fragment {
  std::string kind;          ///< master | exp_avg | exp_avg_sq | momentum_buffer
  std::string param;         ///< the parameter's (HF) name
  std::int64_t offset = 0;   ///< first element, in the parameter flattened row-major
  torch::Tensor values;      ///< fp32; elements [offset, offset + values.numel())
};

/// One rank's shard file as read back.
struct FragmentShard {
  int rank = 0;
  int world_size = 1;
  int zero_stage = 0;
  std::vector<Fragment> fragments;  ///< values are 1-D zero-copy views of the mapped file
};

/// Writes `fragments` (empty ones are left out) atomically as rank `rank`'s shard. Throws
/// RuntimeError for a kind or parameter name that cannot be encoded, a negative offset or
/// values that are not fp32; I/O failures are RuntimeErrors naming the file.
void write_fragment_shard(const std::filesystem::path& file, int rank, int world_size, int zero_stage,
                          const std::vector<Fragment>& fragments);

/// Reads a shard written by write_fragment_shard, checking its format, metadata, tensor names and
/// dtypes. UsageError naming the file for anything malformed.
FragmentShard read_fragment_shard(const std::filesystem::path& file);

/// The fragments of one rank's partition of a flat buffer laid out by `layout`: `partition` holds
/// elements [partition_offset, partition_offset + partition.numel()) of the flat buffer, and each
/// parameter it overlaps gives one fragment of `kind` (a view of `partition`, no copy). Elements
/// past layout.numel() (alignment padding) belong to no parameter and are left out.
std::vector<Fragment> partition_fragments(const std::string& kind, const train::FlatLayout& layout,
                                          std::int64_t partition_offset, const torch::Tensor& partition);

}  // namespace ds::engine::checkpoint
