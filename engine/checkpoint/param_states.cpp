#include "engine/checkpoint/param_states.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/detail/layout.hpp"
#include "engine/checkpoint/zero_fragments.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kListedPieces = 8;  // uncovered-range errors list this many fragments

std::string range_text(std::int64_t begin, std::int64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return c10::str(c10::IntArrayRef(shape));
}

std::int64_t numel_of(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

/// trainer_state.json's "optimizer"."zero" and "params" for a fragment checkpoint.
struct ZeroMeta {
  int stage = 0;
  int world_size = 1;
  std::vector<ParamStates::Param> params;
};

ZeroMeta parse_zero_meta(const json& meta, const std::string& where) {
  ZeroMeta z;
  try {
    z.stage = meta.at("zero").at("stage").get<int>();
    z.world_size = meta.at("zero").at("world_size").get<int>();
    for (const json& p : meta.at("params")) {
      ParamStates::Param param{p.at("name").get<std::string>(), p.at("shape").get<std::vector<std::int64_t>>(), 0};
      param.numel = numel_of(param.shape);
      z.params.push_back(std::move(param));
    }
  } catch (const json::exception& e) {
    throw UsageError(format_error(where, std::string("malformed ZeRO optimizer metadata (") + e.what() + ")", "",
                                  "\"optimizer\": {\"zero\": {\"stage\": s, \"world_size\": N}, \"params\": "
                                  "[{\"name\": ..., \"shape\": [...]}, ...]}",
                                  "the checkpoint is corrupt"));
  }
  if (z.world_size < 1 || z.stage < 0) {
    throw UsageError(format_error(where, "ZeRO world size or stage out of range",
                                  "world_size " + std::to_string(z.world_size) + ", stage " + std::to_string(z.stage),
                                  "world_size >= 1, stage >= 0", "the checkpoint is corrupt"));
  }
  return z;
}

void check_shard_header(const FragmentShard& shard, const fs::path& file, int rank, const ZeroMeta& z) {
  auto mismatch = [&](const std::string& what, int got, int want) {
    throw UsageError(format_error(file.string(), what, std::to_string(got), std::to_string(want) + " (trainer_state.json)",
                                  "the file was copied from another checkpoint; restore this checkpoint's own shards"));
  };
  if (shard.rank != rank) mismatch("holds another rank's shard", shard.rank, rank);
  if (shard.world_size != z.world_size) mismatch("was written by a run with another world size", shard.world_size, z.world_size);
  if (shard.zero_stage != z.stage) mismatch("was written at another ZeRO stage", shard.zero_stage, z.stage);
}

}  // namespace

ParamStates ParamStates::open(const fs::path& tag_dir, const CheckpointState& state) {
  ParamStates out;
  out.where_ = tag_dir.string();
  const json& meta = state.optimizer_meta;
  if (meta.is_object() && meta.contains("zero")) {
    out.open_zero(tag_dir, state);
  } else if (meta.is_object() && meta.contains("layouts")) {
    out.open_flat(tag_dir, state);
  }
  for (auto& [kind, by_param] : out.pieces_) {
    for (auto& [param, pieces] : by_param) {
      std::sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) { return a.offset < b.offset; });
      for (std::size_t i = 1; i < pieces.size(); ++i) {
        const Piece &a = pieces[i - 1], &b = pieces[i];
        if (a.offset + a.values.numel() <= b.offset) continue;
        throw UsageError(format_error(
            (tag_dir / out.sources_[b.source]).string(), "fragments of '" + param + "' (" + kind + ") overlap",
            range_text(a.offset, a.offset + a.values.numel()) + " in " + out.sources_[a.source] + " and " +
                range_text(b.offset, b.offset + b.values.numel()),
            "each element saved once", "the directory mixes shard files of different saves"));
      }
    }
  }
  return out;
}

void ParamStates::open_flat(const fs::path& tag_dir, const CheckpointState& state) {
  const std::string where = (tag_dir / detail::kTrainerStateFile).string();
  const json& layouts = state.optimizer_meta["layouts"];
  if (!layouts.is_array()) {
    throw UsageError(format_error(where, "\"optimizer\".\"layouts\" must be a list", layouts.type_name()));
  }
  sources_.push_back(detail::kOptimizerFile);
  std::map<std::string, torch::Tensor> tensors(state.optimizer.begin(), state.optimizer.end());
  for (std::size_t g = 0; g < layouts.size(); ++g) {
    train::FlatLayout layout = train::FlatLayout::from_json(layouts[g], where);
    for (const train::FlatSlot& slot : layout.slots()) add_param({slot.name, slot.shape, slot.numel}, where);
    const std::string prefix = "group" + std::to_string(g) + ".";
    for (auto it = tensors.lower_bound(prefix); it != tensors.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      const std::string kind = it->first.substr(prefix.size());
      if (it->second.numel() != layout.numel()) {
        throw UsageError(format_error(where, "fp32 " + kind + " of group " + std::to_string(g) + " does not match its layout",
                                      std::to_string(it->second.numel()) + " elements", std::to_string(layout.numel())));
      }
      torch::Tensor flat = it->second.reshape({-1}).to(torch::kFloat);
      for (const train::FlatSlot& slot : layout.slots()) {
        add_piece(kind, slot.name, {0, flat.narrow(0, slot.offset, slot.numel), 0}, where);
      }
    }
  }
}

void ParamStates::open_zero(const fs::path& tag_dir, const CheckpointState& state) {
  zero_ = true;
  const std::string where = (tag_dir / detail::kTrainerStateFile).string();
  ZeroMeta z = parse_zero_meta(state.optimizer_meta, where);
  for (auto& p : z.params) add_param(std::move(p), where);
  for (int r = 0; r < z.world_size; ++r) {
    const fs::path file = tag_dir / zero_shard_file_name(r);
    if (!fs::exists(file)) {
      throw UsageError(format_error(file.string(), "missing", "",
                                    "one shard per rank (" + std::to_string(z.world_size) + " ranks saved this)",
                                    "the checkpoint is incomplete; load an older tag"));
    }
    FragmentShard shard = read_fragment_shard(file);
    check_shard_header(shard, file, r, z);
    sources_.push_back(file.filename().string());
    for (Fragment& f : shard.fragments) add_piece(f.kind, f.param, {f.offset, std::move(f.values), sources_.size() - 1}, file.string());
  }
}

void ParamStates::add_param(Param param, const std::string& where) {
  if (!index_.emplace(param.name, params_.size()).second) {
    throw UsageError(format_error(where, "parameter '" + param.name + "' is listed twice", "", "", "the checkpoint is corrupt"));
  }
  params_.push_back(std::move(param));
}

void ParamStates::add_piece(const std::string& kind, const std::string& param, Piece piece, const std::string& where) {
  const std::string name = kind + "/" + param + "/" + std::to_string(piece.offset);
  auto it = index_.find(param);
  if (it == index_.end()) {
    std::vector<std::string> names;
    for (const auto& p : params_) names.push_back(p.name);
    throw UsageError(format_error(where, "fragment '" + name + "' is of a parameter trainer_state.json does not list") +
                     did_you_mean(param, names));
  }
  const Param& p = params_[it->second];
  const std::int64_t end = piece.offset + piece.values.numel();
  if (end > p.numel) {
    throw UsageError(format_error(where, "fragment '" + name + "' lies outside its parameter",
                                  "elements " + range_text(piece.offset, end), "within " + range_text(0, p.numel),
                                  "the checkpoint is corrupt"));
  }
  pieces_[kind][param].push_back(std::move(piece));
}

const ParamStates::Param* ParamStates::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

const ParamStates::Param& ParamStates::param_or_throw(const std::string& name) const {
  if (const Param* p = find(name)) return *p;
  std::vector<std::string> names;
  for (const auto& p : params_) names.push_back(p.name);
  throw RuntimeError(format_error(where_, "no optimizer state for parameter '" + name + "'", "",
                                  params_.empty() ? "" : "one of the " + std::to_string(params_.size()) + " parameters it saved") +
                     did_you_mean(name, names));
}

const std::vector<ParamStates::Piece>& ParamStates::pieces_or_throw(const std::string& kind, const Param& param) const {
  auto by_kind = pieces_.find(kind);
  if (by_kind == pieces_.end()) {
    std::string kinds;
    for (const auto& [k, unused] : pieces_) kinds += (kinds.empty() ? "" : ", ") + k;
    throw RuntimeError(format_error(where_, "no '" + kind + "' optimizer state saved", "",
                                    kinds.empty() ? "" : "one of " + kinds));
  }
  static const std::vector<Piece> kNone;
  auto it = by_kind->second.find(param.name);
  return it == by_kind->second.end() ? kNone : it->second;
}

void ParamStates::read(const std::string& kind, const std::string& param, std::int64_t offset, torch::Tensor dest) const {
  const Param& p = param_or_throw(param);
  const std::vector<Piece>& pieces = pieces_or_throw(kind, p);
  if (!dest.is_contiguous()) throw RuntimeError("ParamStates::read: the destination must be contiguous");
  torch::NoGradGuard no_grad;
  torch::Tensor out = dest.view({-1});
  const std::int64_t end = offset + out.numel();
  if (offset < 0 || end > p.numel) {
    throw RuntimeError(format_error(where_, "elements " + range_text(offset, end) + " of '" + param + "' asked for", "",
                                    "within " + range_text(0, p.numel)));
  }
  std::int64_t pos = offset;
  auto first = std::upper_bound(pieces.begin(), pieces.end(), pos,
                                [](std::int64_t at, const Piece& piece) { return at < piece.offset + piece.values.numel(); });
  for (auto it = first; it != pieces.end() && pos < end && it->offset <= pos; ++it) {
    std::int64_t hi = std::min(end, it->offset + it->values.numel());
    out.narrow(0, pos - offset, hi - pos).copy_(it->values.narrow(0, pos - it->offset, hi - pos));
    pos = hi;
  }
  if (pos >= end) return;
  std::int64_t gap_end = end;
  for (const Piece& piece : pieces) {
    if (piece.offset > pos) gap_end = std::min(gap_end, piece.offset);
  }
  std::string covered;
  for (std::size_t i = 0; i < pieces.size() && i < kListedPieces; ++i) {
    covered += (i ? ", " : "") + range_text(pieces[i].offset, pieces[i].offset + pieces[i].values.numel()) + " in " +
               sources_[pieces[i].source];
  }
  if (pieces.size() > kListedPieces) covered += " and " + std::to_string(pieces.size() - kListedPieces) + " more";
  throw RuntimeError(format_error(where_,
                                  "no fragment holds elements " + range_text(pos, gap_end) + " of '" + param + "' (" + kind + ")",
                                  covered.empty() ? "no fragments" : "fragments " + covered, "",
                                  "the checkpoint is incomplete or its shard files come from different saves"));
}

torch::Tensor ParamStates::full(const std::string& kind, const std::string& param) const {
  const Param& p = param_or_throw(param);
  const std::vector<Piece>& pieces = pieces_or_throw(kind, p);
  if (pieces.size() == 1 && pieces[0].offset == 0 && pieces[0].values.numel() == p.numel) {
    return pieces[0].values.view(p.shape);
  }
  torch::Tensor out = torch::empty(p.shape, torch::kFloat);
  read(kind, param, 0, out);
  return out;
}

void ParamStates::read_flat(const std::string& kind, const train::FlatLayout& layout, std::int64_t flat_offset,
                            torch::Tensor dest) const {
  if (!dest.is_contiguous()) throw RuntimeError("ParamStates::read_flat: the destination must be contiguous");
  torch::Tensor out = dest.view({-1});
  const std::int64_t begin = flat_offset, end = flat_offset + out.numel();
  for (const train::FlatSlot& slot : layout.slots()) {
    std::int64_t lo = std::max(begin, slot.offset), hi = std::min(end, slot.offset + slot.numel);
    if (lo >= hi) continue;
    const Param& p = param_or_throw(slot.name);
    if (p.shape != slot.shape) {
      throw RuntimeError(format_error(where_, "parameter '" + slot.name + "' has another shape in the checkpoint",
                                      shape_text(p.shape), shape_text(slot.shape)));
    }
    read(kind, slot.name, lo - slot.offset, out.narrow(0, lo - begin, hi - lo));
  }
}

}  // namespace ds::engine::checkpoint
