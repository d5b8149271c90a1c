#pragma once
// Training checkpoints, DeepSpeed-like layout:
//
//   DIR/latest                      the tag of the newest complete checkpoint (written last)
//   DIR/<tag>/                      default tag "global_step<N>"
//     metadata.json                 step, tokens, world size, ZeRO stage, ds version, precision,
//                                   format version, and every other file's byte size
//     model.safetensors             model weights, Hugging Face names, the model's dtype
//     optimizer.safetensors         flat optimizer states ("group<g>.exp_avg", ...) and, for
//                                   bf16/fp16, the fp32 masters ("group<g>.master"); stage 0
//     zero_shard_rank<r>.safetensors  ZeRO stage >= 1 on N > 1 ranks instead: rank r's optimizer
//                                   states and masters as per-parameter fragments
//                                   (zero_fragments.hpp; read by name with ParamStates)
//     trainer_state.json            optimizer metadata (rule, steps, parameter layout), LR
//                                   scheduler, loss scaler and data sampler states
//     rng.safetensors               torch RNG states ("torch_cpu", "torch_cuda<i>"); the
//                                   trainer's std RNG state in __metadata__
//     ds_config.json                the run's config
//     model_config.json             the model's Hugging Face config.json (when known)
//
// Saving is atomic: everything goes to DIR/.tmp-<tag>-<pid>/, each file and the directory are
// fsynced, the directory is renamed to DIR/<tag> (atomically exchanged when the tag exists),
// DIR is fsynced, and only then `latest` is replaced (write-to-temp + rename). A kill -9 at any
// moment leaves `latest` naming a complete checkpoint.
//
// Multi-rank saves (every rank writes its own shard):
//   rank 0:      tmp = prepare_shared_save(DIR, tag); tell the others getpid() (broadcast)
//   every rank:  write_fragment_shard(shared_temp_dir(DIR, tag, pid) / zero_shard_file_name(rank), ...)
//   barrier
//   rank 0:      save_checkpoint(DIR, state, {.tag = tag, .prepared_dir = tmp})
//   barrier      (`latest` names the new checkpoint before any rank moves on)
// save_checkpoint then writes its own pieces beside the shards, records every file's size (the
// shards' too) in metadata.json and installs the directory as above.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ds::engine::checkpoint {

/// Checkpoints written by this build; load refuses newer ones.
inline constexpr int kFormatVersion = 1;

using NamedTensor = std::pair<std::string, torch::Tensor>;

/// What a checkpoint says about itself (metadata.json).
struct Metadata {
  std::int64_t step = 0;       ///< optimizer steps applied
  std::int64_t tokens = 0;     ///< training tokens consumed
  int world_size = 1;          ///< data-parallel ranks that trained it
  int zero_stage = 0;
  std::string precision;       ///< "fp32" | "bf16" | "fp16" (informational)
  std::string ds_version;      ///< save fills in this build's version when empty
  std::string tag;             ///< filled by save and load
  int format_version = kFormatVersion;
};

/// Random number generator states, for bitwise-exact resume.
struct RngState {
  torch::Tensor torch_cpu;                 ///< the default CPU generator's state (uint8)
  std::vector<torch::Tensor> torch_cuda;   ///< each CUDA device's default generator state
  std::string std_rng;                     ///< the trainer's std engine, as its operator<< writes it ("" = none)
};

/// The torch generators' states now (CPU, and every CUDA device when CUDA is available).
RngState capture_torch_rng();
/// Puts captured torch generator states back (std_rng is the caller's to restore).
void restore_torch_rng(const RngState& state);

/// Everything one checkpoint holds, as plain data: the trainer gathers it from its parts
/// (MixedPrecisionOptimizer::model_state, LRSchedule::state_dict, ...) and gives it back to them.
struct CheckpointState {
  std::vector<NamedTensor> model;        ///< weights by HF name
  std::vector<NamedTensor> optimizer;    ///< flat optimizer state tensors (empty for ZeRO: see ParamStates)
  nlohmann::json optimizer_meta;         ///< MixedPrecisionOptimizer::optimizer_state_meta(), or ZeRO's
                                         ///< {"precision", "optimizer", "zero": {stage, world_size},
                                         ///<  "params": [{name, shape}...]}
  nlohmann::json scheduler;              ///< LRSchedule::state_dict()
  nlohmann::json loss_scaler;            ///< LossScaler::state_dict()
  nlohmann::json sampler;                ///< the data sampler's position
  RngState rng;
  std::string config_json;               ///< the run's config as DeepSpeed JSON text
  nlohmann::json model_config;           ///< the model's HF config.json; null when unknown
  Metadata metadata;
};

struct SaveOptions {
  std::string tag;      ///< "" = checkpoint_tag(metadata.step)
  int keep_last = 0;    ///< > 0: afterwards delete all but the newest keep_last checkpoints
  /// Multi-rank saves: the directory prepare_shared_save(DIR, tag) returned in this process, into
  /// which every rank has written its shard file. "" = a fresh temporary of save_checkpoint's own.
  std::filesystem::path prepared_dir;
};

/// The default tag of a checkpoint after `step` optimizer steps: "global_step<step>".
std::string checkpoint_tag(std::int64_t step);

/// DIR/.tmp-<tag>-<owner_pid>: the temporary directory of a save by process `owner_pid` (rank 0),
/// where the other ranks of a multi-rank save write their files. UsageError for a bad tag.
std::filesystem::path shared_temp_dir(const std::filesystem::path& dir, const std::string& tag, long owner_pid);

/// Rank 0, before any rank writes: creates DIR, removes stale temporaries, and creates an empty
/// shared_temp_dir(dir, tag, getpid()), which this process's cleanup then leaves alone until
/// save_checkpoint installs it (other processes' cleanup leaves it while this process lives).
std::filesystem::path prepare_shared_save(const std::filesystem::path& dir, const std::string& tag);

/// Saves atomically (see the top of this file) and returns DIR/<tag>. Creates DIR. A tag must be
/// a plain name (no '/', not starting with '.'). Throws UsageError for a bad tag or a
/// prepared_dir that is not this process's shared_temp_dir(DIR, tag); RuntimeError for I/O
/// failures and for a ZeRO state ("zero" in optimizer_meta) whose ranks' shard files are not all
/// in prepared_dir (and then `latest` still names the previous checkpoint). optimizer.safetensors
/// is left out when the state has no flat optimizer tensors and its optimizer_meta is ZeRO's.
std::filesystem::path save_checkpoint(const std::filesystem::path& dir, const CheckpointState& state,
                                      const SaveOptions& options = {});

struct LoadOptions {
  std::string tag;        ///< "" = the tag in DIR/latest
  bool optimizer = true;  ///< false: skip optimizer states (weights-only resume)
};

/// Loads and validates a checkpoint: metadata (format version, tag, world size), every file
/// present with the size metadata.json recorded, each safetensors file strictly checked. Tensors
/// are zero-copy views of the mapped files. Removes stale temporaries of dead saves. Throws
/// UsageError naming the directory or file, with a hint, for missing or corrupt pieces.
CheckpointState load_checkpoint(const std::filesystem::path& dir, const LoadOptions& options = {});

/// metadata.json of one checkpoint directory DIR/<tag> (tag = its name), checked as
/// load_checkpoint checks it, without reading the tensors. UsageError naming the file.
Metadata read_metadata(const std::filesystem::path& checkpoint);

/// The tag DIR/latest names, or nullopt when there is none.
std::optional<std::string> latest_tag(const std::filesystem::path& dir);

/// Complete checkpoints in DIR (directories with a metadata.json), oldest step first.
std::vector<std::string> list_checkpoints(const std::filesystem::path& dir);

/// Deletes DIR/.tmp-* directories left by saves whose process is gone (or by this process, except
/// a prepare_shared_save directory not yet installed). Returns how many were removed.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir);

/// Serialises a standard random engine for RngState::std_rng, and back.
template <typename Engine>
std::string std_rng_state(const Engine& engine) {
  std::ostringstream os;
  os << engine;
  return os.str();
}
template <typename Engine>
void restore_std_rng(Engine& engine, const std::string& state) {
  std::istringstream is(state);
  is >> engine;
}

}  // namespace ds::engine::checkpoint
