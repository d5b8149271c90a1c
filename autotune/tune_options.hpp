#pragma once
// The search axes of `ds tune` as a user types them ("--stages 0,1,2,3 --micro-batch 1,2,4"),
// turned into SearchSpaceOptions; each error names its flag. Shared by the CLI and its tests.
#include <cstdint>
#include <string>

#include "autotune/search_space.hpp"
#include "autotune/tuner.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::autotune {

/// Comma-separated lists; empty strings mean the SearchSpaceOptions default.
struct SearchFlags {
  std::string stages;             ///< --stages, e.g. "0,1,2,3"
  std::string offload_optimizer;  ///< --offload-optimizer, e.g. "none,cpu"
  std::string offload_param;      ///< --offload-param
  std::string micro_batches;      ///< --micro-batch, e.g. "1,2,4,8"
  std::string grad_accums;        ///< --grad-accum
  std::string global_batch;       ///< --global-batch, a count ("512", "1k")
  std::string checkpointing;      ///< --checkpointing, e.g. "none,full"
  std::string dtypes;             ///< --dtype, e.g. "bf16,fp16"
  std::string bucket_sizes;       ///< --bucket-sizes, elements, e.g. "5e7,5e8"
  std::string optimizer = "adamw";  ///< --optimizer (not searched)
  /// --engine: "ds", "deepspeed" or "auto" (ds on a measured profile, where --measure runs
  /// ds train; deepspeed with a hardware preset).
  std::string engine = "auto";
  std::string objective = "throughput";  ///< --objective
  int max_tp = 0;                 ///< --max-tp; 0: a node
  int max_pp = 0;                 ///< --max-pp; 0: the layers
  int max_sp = 1;                 ///< --max-sp; 1: no sequence parallelism, 0: a node
  std::int64_t seq_len = 0;       ///< --seq; 0: min(model max, 4096)
  int top_k = 10;                 ///< --top
};

/// Builds the options of one tuning run for `model` on `cluster`. Throws UsageError naming the
/// flag: "--stages: not a ZeRO stage (got 4); expected 0, 1, 2 or 3".
TuneOptions resolve_tune_options(const SearchFlags& flags, const estimators::ModelSpec& model,
                                 const profiles::ClusterSpec& cluster);

}  // namespace ds::autotune
