#pragma once
// What `ds checkpoint list DIR` shows: each complete checkpoint's metadata, size on disk, and
// which one `latest` names.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/checkpoint/checkpoint.hpp"

namespace ds::engine::checkpoint {

struct CheckpointSummary {
  Metadata metadata;           ///< tag, step, tokens, world size, ZeRO stage, precision
  std::uintmax_t bytes = 0;    ///< every file under DIR/<tag>
  bool latest = false;         ///< DIR/latest names this tag
};

/// The complete checkpoints in `dir`, oldest step first (an empty list when there are none).
/// UsageError naming `dir` when it is not a directory, or naming a malformed metadata.json.
std::vector<CheckpointSummary> summarize_checkpoints(const std::filesystem::path& dir);

}  // namespace ds::engine::checkpoint
