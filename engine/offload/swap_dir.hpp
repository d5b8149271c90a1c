#pragma once
// The directory one set of NVMe swap files lives in, under offload_*.nvme_path:
// ds-swap-<host>-<pid>-<tag> (the tag tells a rank's parameter groups apart, e.g. rank0-group0).
// Removed with its files on a clean exit; a run killed before that leaves it behind, and the next
// run on the same host removes every such directory whose process is gone (never one of a live
// process, so jobs sharing a path keep theirs).
#include <filesystem>
#include <string>
#include <vector>

namespace ds::engine::offload {

class SwapDir {
 public:
  /// Creates nvme_path/ds-swap-<host>-<pid>-<tag> after removing stale ones (see above).
  /// Throws RuntimeError naming `key` (the config key of the path) when it cannot be created.
  SwapDir(const std::filesystem::path& nvme_path, const std::string& tag, const std::string& key);
  ~SwapDir();
  SwapDir(const SwapDir&) = delete;
  SwapDir& operator=(const SwapDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Removes nvme_path's ds-swap-<this host>-<pid>-* directories whose process no longer exists;
/// returns what it removed. Other hosts' directories (a shared file system) are left alone.
std::vector<std::filesystem::path> remove_stale_swap_dirs(const std::filesystem::path& nvme_path);

}  // namespace ds::engine::offload
