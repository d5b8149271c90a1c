// save_checkpoint and the directory housekeeping around it (see checkpoint.hpp for the protocol).
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/atomic_file.hpp"
#include "common/build_info.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/detail/layout.hpp"
#include "engine/io/safetensors.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using namespace detail;

[[noreturn]] void io_fail(const fs::path& path, const std::string& what) {
  throw RuntimeError(format_error(path.string(), what + " failed: " + std::strerror(errno)));
}

/// The pid at the end of a temporary's name (".tmp-<tag>-<pid>", "latest.tmp.<pid>"), or -1.
long temp_owner(const std::string& name, char separator) {
  auto pos = name.rfind(separator);
  if (pos == std::string::npos || pos + 1 >= name.size()) return -1;
  char* end = nullptr;
  long pid = std::strtol(name.c_str() + pos + 1, &end, 10);
  return (*end == '\0' && pid > 0) ? pid : -1;
}

bool owner_is_gone(long pid) {
  if (pid < 0) return false;
  if (pid == ::getpid()) return true;  // ours, from a save that threw
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

/// Moves `from` into place at `to`. When `to` exists the two are swapped atomically
/// (renameat2 RENAME_EXCHANGE) and the old contents, now at `from`, are deleted.
void install_directory(const fs::path& from, const fs::path& to) {
  if (!fs::exists(to)) {
    if (::rename(from.c_str(), to.c_str()) != 0) io_fail(to, "rename");
    return;
  }
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) io_fail(to, "rename (exchange)");
    // A file system without RENAME_EXCHANGE: move the old one aside first (not atomic; logged).
    log::warn("checkpoint: ", to.string(), ": the file system cannot swap directories atomically; replacing it");
    fs::path aside = to.parent_path() / (std::string(kTempPrefix) + "old-" + std::to_string(::getpid()));
    if (::rename(to.c_str(), aside.c_str()) != 0) io_fail(to, "rename");
    if (::rename(from.c_str(), to.c_str()) != 0) io_fail(to, "rename");
    fs::remove_all(aside);
    return;
  }
  fs::remove_all(from);
}

void write_json(const fs::path& path, const nlohmann::json& value) { write_file_atomic(path, value.dump(2) + "\n"); }

void write_rng(const fs::path& path, const RngState& rng) {
  std::vector<io::NamedTensor> tensors;
  if (rng.torch_cpu.defined()) tensors.emplace_back("torch_cpu", rng.torch_cpu);
  for (std::size_t i = 0; i < rng.torch_cuda.size(); ++i) tensors.emplace_back("torch_cuda" + std::to_string(i), rng.torch_cuda[i]);
  std::map<std::string, std::string> meta;
  if (!rng.std_rng.empty()) meta["std_rng"] = rng.std_rng;
  io::save_safetensors(path, tensors, meta);
}

/// Writes every file of `state` into `tmp` and returns metadata.json's content.
nlohmann::json write_pieces(const fs::path& tmp, const CheckpointState& state, const std::string& tag) {
  io::save_safetensors(tmp / kModelFile, state.model, {{"format", "pt"}});
  io::save_safetensors(tmp / kOptimizerFile, state.optimizer);
  write_json(tmp / kTrainerStateFile, {{"optimizer", state.optimizer_meta},
                                       {"scheduler", state.scheduler},
                                       {"loss_scaler", state.loss_scaler},
                                       {"sampler", state.sampler}});
  write_rng(tmp / kRngFile, state.rng);
  write_file_atomic(tmp / kConfigFile, state.config_json.empty() ? "{}\n" : state.config_json);
  if (!state.model_config.is_null()) write_json(tmp / kModelConfigFile, state.model_config);
  nlohmann::json files = nlohmann::json::object();
  for (const auto& entry : fs::directory_iterator(tmp)) files[entry.path().filename().string()] = fs::file_size(entry);
  const Metadata& m = state.metadata;
  return {{"format_version", kFormatVersion},
          {"tag", tag},
          {"step", m.step},
          {"tokens", m.tokens},
          {"world_size", m.world_size},
          {"zero_stage", m.zero_stage},
          {"precision", m.precision},
          {"ds_version", m.ds_version.empty() ? build_info().version : m.ds_version},
          {"files", files}};
}

}  // namespace

std::size_t remove_stale_temporaries(const fs::path& dir) {
  std::size_t removed = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    long pid = -1;
    if (name.rfind(kTempPrefix, 0) == 0) pid = temp_owner(name, '-');
    if (name.rfind(std::string(kLatestFile) + ".tmp.", 0) == 0) pid = temp_owner(name, '.');
    if (!owner_is_gone(pid)) continue;
    fs::remove_all(entry.path(), ec);
    if (!ec) ++removed;
  }
  return removed;
}

fs::path save_checkpoint(const fs::path& dir, const CheckpointState& state, const SaveOptions& options) {
  std::string tag = options.tag.empty() ? "global_step" + std::to_string(state.metadata.step) : options.tag;
  check_tag(tag, "checkpoint tag");
  fs::create_directories(dir);
  remove_stale_temporaries(dir);
  fs::path tmp = dir / (kTempPrefix + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directory(tmp);
  write_json(tmp / kMetadataFile, write_pieces(tmp, state, tag));
  fsync_directory(tmp);
  fs::path final_dir = dir / tag;
  install_directory(tmp, final_dir);
  fsync_directory(dir);
  write_file_atomic(dir / kLatestFile, tag);  // last: only now does `latest` name the new checkpoint
  if (options.keep_last > 0) {
    std::vector<std::string> tags = list_checkpoints(dir);
    int surplus = static_cast<int>(tags.size()) - options.keep_last;
    for (std::size_t i = 0; surplus > 0 && i < tags.size(); ++i) {
      if (tags[i] == tag) continue;
      // Renamed first so a half-deleted checkpoint never looks like a checkpoint.
      fs::path doomed = dir / (kTempPrefix + tags[i] + "-" + std::to_string(::getpid()));
      fs::rename(dir / tags[i], doomed);
      fs::remove_all(doomed);
      --surplus;
    }
  }
  return final_dir;
}

}  // namespace ds::engine::checkpoint
