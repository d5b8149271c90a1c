#pragma once
// The inputs of `ds estimate` as a user gives them -- names, counts like "5e8", sizes like
// "80GB" -- turned into ModelSpec, ClusterSpec and Plan. Shared by the CLI and the Python
// bindings so both accept the same spellings and report the same errors.
#include <cstdint>
#include <string>

#include "estimators/model_spec.hpp"
#include "estimators/plan.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::estimators {

/// --model, or --params with an optional shape.
struct ModelOptions {
  std::string model;         ///< preset, config.json or a directory holding one
  std::string params;        ///< e.g. "7e9": a rough Llama-style model instead of --model
  std::int64_t layers = 0;   ///< with params; 0 = chosen from the count
  std::int64_t hidden = 0;   ///< with params; 0 = chosen from the count
  std::int64_t seq = 0;      ///< with params: max sequence length; 0 = 4096
};

/// Exactly one of model and params; UsageError naming the flags otherwise.
ModelSpec resolve_model(const ModelOptions& options);

/// --gpu preset and the figures that override it.
struct ClusterOptions {
  std::string gpu = "h100-80g";  ///< hardware preset name
  int nodes = 0;                 ///< 0: the preset's (1)
  int gpus_per_node = 0;         ///< 0: the preset's
  std::string gpu_mem;           ///< e.g. "80GB"; empty: the preset's
  std::string cpu_mem;           ///< per node
  std::string nvme;              ///< per node
  std::string profile;           ///< stored `ds profile` id or "latest"; replaces the preset
  std::string db_path;           ///< database holding the profile; empty: the default
};

profiles::ClusterSpec resolve_cluster(const ClusterOptions& options);

/// Plan fields as strings and plain numbers; empty strings and zeros mean "the default".
struct PlanOptions {
  int stage = 0;
  std::string offload_optimizer = "none";  ///< none | cpu | nvme
  std::string offload_param = "none";      ///< none | cpu | nvme
  double offload_ratio = 1.0;              ///< offload_optimizer.ratio (< 1: stage 3 partial offload)
  std::string sub_group_size;              ///< elements, e.g. "1e8"; empty: DeepSpeed's default (1e9)
  std::string dtype = "bf16";              ///< fp32 | fp16 | bf16
  std::string optimizer = "adamw";         ///< adam | adamw | sgd | sgd-momentum
  std::string checkpointing = "none";      ///< none | selective | full
  std::int64_t micro_batch = 1;
  std::int64_t grad_accum = 1;
  std::int64_t seq_len = 0;                ///< 0: min(model max_seq, 4096)
  int dp = 0;                              ///< 0: world / (tp * pp * sp)
  int tp = 1, pp = 1, sp = 1;
  bool sequence_parallel = false;
  bool fused_attention = true;             ///< on a CPU cluster always false (LibTorch 1.13 has no fused CPU attention)
  std::string reduce_bucket_size;          ///< elements, e.g. "5e8"; empty: DeepSpeed's default
  std::string allgather_bucket_size;
  std::string prefetch_bucket_size;
  std::string max_live_parameters;
  std::string param_persistence_threshold;
  std::string overlap_comm = "auto";       ///< true | false | auto (stage 3 only)
  std::string engine = "deepspeed";        ///< deepspeed | ds: whose ZeRO buffers to price
};

/// Builds the Plan for `cluster` (parse errors name the CLI flag); it is not validated here.
Plan resolve_plan(const PlanOptions& options, const ModelSpec& model, const profiles::ClusterSpec& cluster);

}  // namespace ds::estimators
