#pragma once
// Per-parameter optimizer state of a checkpoint, whichever way it was saved:
//   - stage 0 / one rank: optimizer.safetensors with flat "group<g>.<kind>" tensors and each
//     group's parameter layout in trainer_state.json's "optimizer"."layouts";
//   - ZeRO stage >= 1 on N ranks: zero_shard_rank<r>.safetensors files of per-parameter fragments
//     (zero_fragments.hpp) and "optimizer"."zero" / "params" in trainer_state.json.
// A reader asks for elements [offset, offset + n) of one parameter's `kind` state and gets them
// however the saving ranks had cut them, which is what lets a run resume on another number of
// ranks or another ZeRO stage without a conversion step.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/train/flat_params.hpp"

namespace ds::engine::checkpoint {

struct CheckpointState;

class ParamStates {
 public:
  /// A parameter the checkpoint holds optimizer state for.
  struct Param {
    std::string name;
    std::vector<std::int64_t> shape;
    std::int64_t numel = 0;
  };

  /// The optimizer states of checkpoint `tag_dir` (DIR/<tag>), whose other pieces `state` holds
  /// (as load_checkpoint returned them, with optimizer states). ZeRO checkpoints' shard files are
  /// memory-mapped and read zero-copy. A state without optimizer metadata gives an empty reader.
  /// Throws UsageError naming the file for missing or malformed pieces: a shard of another rank
  /// or world size, a fragment outside its parameter, fragments overlapping.
  static ParamStates open(const std::filesystem::path& tag_dir, const CheckpointState& state);

  /// The checkpoint directory (DIR/<tag>), as errors name it.
  const std::string& where() const { return where_; }
  /// True for a ZeRO fragment checkpoint, false for the flat stage-0 format.
  bool zero() const { return zero_; }
  /// Whether any state of `kind` (master | exp_avg | exp_avg_sq | momentum_buffer) was saved.
  bool has(const std::string& kind) const { return pieces_.count(kind) > 0; }
  /// Parameters in the order the checkpoint lists them.
  const std::vector<Param>& params() const { return params_; }
  /// The parameter named `name`, or nullptr.
  const Param* find(const std::string& name) const;

  /// Copies elements [offset, offset + dest.numel()) of `param`'s `kind` state (flattened
  /// row-major) into `dest` (contiguous, any float dtype), across fragment and shard boundaries.
  /// Throws RuntimeError naming the checkpoint, the parameter and the range when a piece is not
  /// covered (listing what is), the parameter or kind is unknown, or the range is out of bounds.
  void read(const std::string& kind, const std::string& param, std::int64_t offset, torch::Tensor dest) const;
  /// `param`'s whole `kind` state in its shape: a zero-copy view when one fragment holds it all,
  /// otherwise assembled into a new fp32 tensor. Errors as read().
  torch::Tensor full(const std::string& kind, const std::string& param) const;
  /// Fills `dest` with elements [flat_offset, flat_offset + dest.numel()) of a flat buffer laid
  /// out by `layout` (one rank's partition of a group, or a whole group at flat_offset 0), each
  /// parameter's part read by name. Elements past layout.numel() (padding) are left untouched.
  void read_flat(const std::string& kind, const train::FlatLayout& layout, std::int64_t flat_offset,
                 torch::Tensor dest) const;

 private:
  struct Piece {
    std::int64_t offset = 0;
    torch::Tensor values;     ///< 1-D fp32
    std::size_t source = 0;   ///< index into sources_
  };
  using PieceMap = std::map<std::string, std::map<std::string, std::vector<Piece>>>;  // kind -> param -> pieces

  const Param& param_or_throw(const std::string& name) const;
  const std::vector<Piece>& pieces_or_throw(const std::string& kind, const Param& param) const;
  void add_param(Param param, const std::string& where);
  void add_piece(const std::string& kind, const std::string& param, Piece piece, const std::string& where);
  void open_flat(const std::filesystem::path& tag_dir, const CheckpointState& state);
  void open_zero(const std::filesystem::path& tag_dir, const CheckpointState& state);

  bool zero_ = false;
  std::string where_;                    ///< the checkpoint directory, for errors
  std::vector<std::string> sources_;     ///< file names pieces come from
  std::vector<Param> params_;
  std::map<std::string, std::size_t> index_;
  PieceMap pieces_;
};

}  // namespace ds::engine::checkpoint
