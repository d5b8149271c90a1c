#include "engine/offload/swap_dir.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string_view>

#include "common/error.hpp"
#include "common/log.hpp"

namespace ds::engine::offload {
namespace {

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string prefix_of_this_host() { return "ds-swap-" + host_name() + "-"; }

}  // namespace

std::vector<std::filesystem::path> remove_stale_swap_dirs(const std::filesystem::path& nvme_path) {
  std::vector<std::filesystem::path> removed;
  const std::string prefix = prefix_of_this_host();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(nvme_path, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !entry.is_directory()) continue;
    // <pid>-<tag> follows the prefix.
    const std::string rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos) continue;
    char* end = nullptr;
    const long pid = std::strtol(rest.c_str(), &end, 10);
    if (end != rest.c_str() + dash || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // alive (maybe another user's)
    std::error_code rm;
    std::filesystem::remove_all(entry.path(), rm);
    if (!rm) removed.push_back(entry.path());
  }
  return removed;
}

SwapDir::SwapDir(const std::filesystem::path& nvme_path, const std::string& tag, const std::string& key) {
  std::error_code ec;
  if (!std::filesystem::is_directory(nvme_path, ec)) {
    throw RuntimeError(format_error(key, "not a directory", nvme_path.string(), "",
                                    "point it at a directory on a local NVMe drive (it must exist)"));
  }
  for (const auto& stale : remove_stale_swap_dirs(nvme_path)) {
    log::info("NVMe offload: removed ", stale.string(), " (left by a run that did not exit cleanly)");
  }
  path_ = nvme_path / (prefix_of_this_host() + std::to_string(::getpid()) + "-" + tag);
  std::filesystem::create_directories(path_, ec);
  if (ec) throw RuntimeError(format_error(key, "cannot create a swap directory", path_.string() + ": " + ec.message()));
}

SwapDir::~SwapDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ds::engine::offload
