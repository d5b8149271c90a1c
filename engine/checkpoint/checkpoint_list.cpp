#include "engine/checkpoint/checkpoint_list.hpp"

#include "common/error.hpp"

namespace ds::engine::checkpoint {

namespace fs = std::filesystem;

std::vector<CheckpointSummary> summarize_checkpoints(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    throw UsageError(format_error(dir.string(), "no such checkpoint directory", "", "",
                                  "pass the directory `ds train --out` wrote"));
  }
  const std::optional<std::string> latest = latest_tag(dir);
  std::vector<CheckpointSummary> out;
  for (const std::string& tag : list_checkpoints(dir)) {
    CheckpointSummary s;
    s.metadata = read_metadata(dir / tag);
    s.latest = latest && *latest == tag;
    for (const auto& entry : fs::recursive_directory_iterator(dir / tag)) {
      if (entry.is_regular_file()) s.bytes += entry.file_size();
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ds::engine::checkpoint
