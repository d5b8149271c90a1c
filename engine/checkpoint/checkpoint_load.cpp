// load_checkpoint, latest_tag, list_checkpoints, and the RNG state helpers.
#include <algorithm>
#include <cctype>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/detail/layout.hpp"
#include "engine/io/safetensors.hpp"

namespace ds::engine::checkpoint {

namespace fs = std::filesystem;
using namespace detail;

namespace detail {

void check_tag(const std::string& tag, const std::string& where) {
  bool ok = !tag.empty() && tag.size() <= 200 && tag.front() != '.' && tag != kLatestFile &&
            tag.find_first_of("/\\\n\r\t ") == std::string::npos;
  if (!ok) {
    throw UsageError(format_error(where, "not a usable checkpoint tag", "\"" + tag + "\"",
                                  "a plain directory name such as global_step1000 (no '/', spaces or leading '.')"));
  }
}

nlohmann::json read_json_file(const fs::path& path, const std::string& missing_hint) {
  if (!fs::exists(path)) throw UsageError(format_error(path.string(), "missing", "", "", missing_hint));
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(format_error(path.string(), "not valid JSON", e.what(), "", "the checkpoint is corrupt"));
  }
}

}  // namespace detail

namespace {

constexpr const char* kIncomplete = "the checkpoint is incomplete; load an older tag";

std::map<std::string, torch::Tensor> tensors_of(const fs::path& path) {
  if (!fs::exists(path)) throw UsageError(format_error(path.string(), "missing", "", "", kIncomplete));
  return io::SafetensorsFile(path).tensors();
}

std::vector<NamedTensor> as_list(const std::map<std::string, torch::Tensor>& map) {
  return {map.begin(), map.end()};
}

Metadata parse_metadata(const nlohmann::json& j, const fs::path& file, const std::string& tag) {
  auto bad = [&](const std::string& what) {
    throw UsageError(format_error(file.string(), what, "", "", "the checkpoint is corrupt"));
  };
  if (!j.is_object()) bad("expected a JSON object");
  Metadata m;
  try {
    m.format_version = j.at("format_version").get<int>();
    m.step = j.at("step").get<std::int64_t>();
    m.tokens = j.at("tokens").get<std::int64_t>();
    m.world_size = j.at("world_size").get<int>();
    m.zero_stage = j.at("zero_stage").get<int>();
    m.precision = j.value("precision", "");
    m.ds_version = j.value("ds_version", "");
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("malformed metadata (") + e.what() + ")");
  }
  m.tag = tag;  // the directory name wins: renaming a checkpoint directory is allowed
  return m;
}

/// Every file metadata.json lists must exist with the recorded size.
void check_files(const nlohmann::json& files, const fs::path& ckpt) {
  if (!files.is_object()) {
    throw UsageError(format_error((ckpt / kMetadataFile).string(), "missing the \"files\" list", "", "",
                                  "the checkpoint is corrupt"));
  }
  for (const auto& [name, size] : files.items()) {
    fs::path p = ckpt / name;
    if (!fs::exists(p)) throw UsageError(format_error(p.string(), "missing", "", "", kIncomplete));
    std::uintmax_t actual = fs::file_size(p);
    if (!size.is_number_unsigned() || actual != size.get<std::uintmax_t>()) {
      throw UsageError(format_error(p.string(), "has the wrong size", std::to_string(actual) + " bytes",
                                    size.dump() + " bytes (metadata.json)", "the file is truncated or was replaced"));
    }
  }
}

std::string resolve_tag(const fs::path& dir, const LoadOptions& options) {
  if (!options.tag.empty()) {
    check_tag(options.tag, "checkpoint tag");
    return options.tag;
  }
  std::optional<std::string> tag = latest_tag(dir);
  if (!tag) {
    std::vector<std::string> tags = list_checkpoints(dir);
    std::string found;
    for (const auto& t : tags) found += (found.empty() ? "" : ", ") + t;
    throw UsageError(format_error(dir.string(), "no 'latest' file", "", "",
                                  tags.empty() ? "no checkpoint has been saved here"
                                               : "pass a tag explicitly; complete checkpoints here: " + found));
  }
  check_tag(*tag, (dir / kLatestFile).string());
  return *tag;
}

}  // namespace

Metadata read_metadata(const fs::path& checkpoint) {
  fs::path p = fs::absolute(checkpoint).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return parse_metadata(read_json_file(checkpoint / kMetadataFile, kIncomplete), checkpoint / kMetadataFile,
                        p.filename().string());
}

std::optional<std::string> latest_tag(const fs::path& dir) {
  fs::path p = dir / kLatestFile;
  if (!fs::exists(p)) return std::nullopt;
  std::string tag = read_file(p);
  while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back()))) tag.pop_back();
  return tag;
}

std::vector<std::string> list_checkpoints(const fs::path& dir) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind('.', 0) == 0 || !fs::exists(entry.path() / kMetadataFile)) continue;
    std::int64_t step = -1;
    try {
      step = nlohmann::json::parse(read_file(entry.path() / kMetadataFile)).value("step", std::int64_t{-1});
    } catch (const std::exception&) {
      continue;  // unreadable metadata: not a complete checkpoint
    }
    found.emplace_back(step, name);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [step, name] : found) out.push_back(std::move(name));
  return out;
}

CheckpointState load_checkpoint(const fs::path& dir, const LoadOptions& options) {
  if (!fs::is_directory(dir)) throw UsageError(format_error(dir.string(), "no such checkpoint directory"));
  remove_stale_temporaries(dir);
  std::string tag = resolve_tag(dir, options);
  fs::path ckpt = dir / tag;
  if (!fs::is_directory(ckpt)) {
    throw UsageError(format_error(ckpt.string(), "checkpoint directory missing", "", "",
                                  options.tag.empty() ? "'latest' names it; the directory was moved or deleted"
                                                      : "list the tags in " + dir.string()));
  }
  nlohmann::json meta = read_json_file(ckpt / kMetadataFile, kIncomplete);
  CheckpointState state;
  state.metadata = parse_metadata(meta, ckpt / kMetadataFile, tag);
  if (state.metadata.format_version > kFormatVersion) {
    throw UsageError(format_error(ckpt.string(), "written by a newer ds",
                                  "format " + std::to_string(state.metadata.format_version),
                                  "format <= " + std::to_string(kFormatVersion), "upgrade ds to load it"));
  }
  check_files(meta.contains("files") ? meta["files"] : nlohmann::json(), ckpt);
  state.model = as_list(tensors_of(ckpt / kModelFile));
  nlohmann::json trainer = read_json_file(ckpt / kTrainerStateFile, kIncomplete);
  if (options.optimizer) {
    // ZeRO checkpoints keep their states in the per-rank shards (ParamStates reads them); a
    // stage-0 checkpoint lists optimizer.safetensors in "files", so check_files caught its loss.
    if (fs::exists(ckpt / kOptimizerFile)) state.optimizer = as_list(tensors_of(ckpt / kOptimizerFile));
    state.optimizer_meta = trainer.value("optimizer", nlohmann::json());
  }
  state.scheduler = trainer.value("scheduler", nlohmann::json());
  state.loss_scaler = trainer.value("loss_scaler", nlohmann::json());
  state.sampler = trainer.value("sampler", nlohmann::json());
  io::SafetensorsFile rng(ckpt / kRngFile);
  if (rng.contains("torch_cpu")) state.rng.torch_cpu = rng.tensor("torch_cpu").clone();
  for (int i = 0; rng.contains("torch_cuda" + std::to_string(i)); ++i) {
    state.rng.torch_cuda.push_back(rng.tensor("torch_cuda" + std::to_string(i)).clone());
  }
  auto it = rng.metadata().find("std_rng");
  if (it != rng.metadata().end()) state.rng.std_rng = it->second;
  state.config_json = read_file(ckpt / kConfigFile);
  if (fs::exists(ckpt / kModelConfigFile)) state.model_config = read_json_file(ckpt / kModelConfigFile, "");
  return state;
}

RngState capture_torch_rng() {
  RngState s;
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    s.torch_cpu = cpu.get_state();
  }
  for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    s.torch_cuda.push_back(gen.get_state());
  }
  return s;
}

void restore_torch_rng(const RngState& state) {
  if (state.torch_cpu.defined()) {
    auto cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(state.torch_cpu.contiguous());
  }
  int devices = static_cast<int>(torch::cuda::device_count());
  for (int i = 0; i < devices && i < static_cast<int>(state.torch_cuda.size()); ++i) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.torch_cuda[i].contiguous());
  }
}

}  // namespace ds::engine::checkpoint
