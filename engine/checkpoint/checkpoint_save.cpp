// save_checkpoint and the directory housekeeping around it (see checkpoint.hpp for the protocol).
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

#include "common/atomic_file.hpp"
#include "common/build_info.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/detail/layout.hpp"
#include "engine/checkpoint/zero_fragments.hpp"
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

/// prepare_shared_save directories of this process not yet installed: its own cleanup must not
/// take them for leftovers of a save that threw while the other ranks are writing into them.
struct PreparedDirs {
  std::mutex mutex;
  std::set<std::string> paths;
};
PreparedDirs& prepared_dirs() {
  static PreparedDirs dirs;
  return dirs;
}
std::string key_of(const fs::path& p) { return fs::absolute(p).lexically_normal().string(); }
bool is_prepared(const fs::path& p) {
  PreparedDirs& d = prepared_dirs();
  std::lock_guard<std::mutex> lock(d.mutex);
  return d.paths.count(key_of(p)) > 0;
}
void set_prepared(const fs::path& p, bool prepared) {
  PreparedDirs& d = prepared_dirs();
  std::lock_guard<std::mutex> lock(d.mutex);
  if (prepared) {
    d.paths.insert(key_of(p));
  } else {
    d.paths.erase(key_of(p));
  }
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

bool is_zero(const CheckpointState& state) {
  return state.optimizer_meta.is_object() && state.optimizer_meta.contains("zero");
}

/// A multi-rank save may only install once every rank's shard is in place.
void check_shards(const fs::path& tmp, const CheckpointState& state) {
  if (!is_zero(state)) return;
  const nlohmann::json& zero = state.optimizer_meta["zero"];
  int world = zero.is_object() ? zero.value("world_size", 0) : 0;
  if (world < 1) {
    throw RuntimeError(format_error("checkpoint optimizer_meta", "\"zero\" has no world_size", zero.dump(),
                                    "{\"stage\": s, \"world_size\": N}"));
  }
  for (int r = 0; r < world; ++r) {
    if (fs::exists(tmp / zero_shard_file_name(r))) continue;
    throw RuntimeError(format_error(tmp.string(), "rank " + std::to_string(r) + " has not written " + zero_shard_file_name(r),
                                    "", "", "every rank writes its shard into the prepared directory before rank 0 "
                                            "calls save_checkpoint (barrier between)"));
  }
}

/// Writes every file of `state` into `tmp` and returns metadata.json's content.
nlohmann::json write_pieces(const fs::path& tmp, const CheckpointState& state, const std::string& tag) {
  io::save_safetensors(tmp / kModelFile, state.model, {{"format", "pt"}});
  if (!state.optimizer.empty() || !is_zero(state)) io::save_safetensors(tmp / kOptimizerFile, state.optimizer);
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
    if (!owner_is_gone(pid) || is_prepared(entry.path())) continue;
    fs::remove_all(entry.path(), ec);
    if (!ec) ++removed;
  }
  return removed;
}

std::string checkpoint_tag(std::int64_t step) { return "global_step" + std::to_string(step); }

fs::path shared_temp_dir(const fs::path& dir, const std::string& tag, long owner_pid) {
  check_tag(tag, "checkpoint tag");
  return dir / (kTempPrefix + tag + "-" + std::to_string(owner_pid));
}

fs::path prepare_shared_save(const fs::path& dir, const std::string& tag) {
  fs::path tmp = shared_temp_dir(dir, tag, ::getpid());
  fs::create_directories(dir);
  remove_stale_temporaries(dir);
  fs::remove_all(tmp);
  fs::create_directory(tmp);
  set_prepared(tmp, true);
  return tmp;
}

fs::path save_checkpoint(const fs::path& dir, const CheckpointState& state, const SaveOptions& options) {
  std::string tag = options.tag.empty() ? checkpoint_tag(state.metadata.step) : options.tag;
  fs::path tmp = shared_temp_dir(dir, tag, ::getpid());
  if (!options.prepared_dir.empty() && (key_of(options.prepared_dir) != key_of(tmp) || !is_prepared(tmp))) {
    throw UsageError(format_error("SaveOptions::prepared_dir", "not this process's prepared save directory for tag '" + tag + "'",
                                  options.prepared_dir.string(), tmp.string(),
                                  "pass what prepare_shared_save(DIR, tag) returned in this process"));
  }
  // A save that throws leaves its directory to the next cleanup, which takes our own for stale.
  struct Unprepare {
    fs::path path;
    ~Unprepare() { if (!path.empty()) set_prepared(path, false); }
  } unprepare{options.prepared_dir};
  fs::create_directories(dir);
  remove_stale_temporaries(dir);
  if (options.prepared_dir.empty()) {
    fs::remove_all(tmp);
    fs::create_directory(tmp);
  }
  check_shards(tmp, state);
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
