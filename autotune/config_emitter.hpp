#pragma once
// The chosen plan as a run configuration: a DeepSpeed config (standard keys only outside the
// "ds" section, so DeepSpeed itself accepts it) that `ds train` runs unchanged, and the command
// line that launches it.
#include <cstdint>
#include <string>

#include "configs/config.hpp"
#include "estimators/plan.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::autotune {

/// What the config needs beyond the plan.
struct EmitOptions {
  std::string model;                      ///< ds.model: the preset name or config path as the user gave it
  std::string nvme_path = "/local_nvme";  ///< offload_*.nvme_path for NVMe offload (DeepSpeed requires one)
  std::int64_t steps = 0;                 ///< ds.steps; 0 leaves it unset
  std::string data;                       ///< ds.data; empty leaves it unset
  std::string run_dir;                    ///< ds.run_dir; empty leaves the default
};

/// The Config of `plan`: batch keys (train_batch_size = micro_batch * grad_accum * dp), fp16/bf16,
/// zero_optimization (stage, offload devices, buckets, overlap_comm), the optimizer, pipeline.stages
/// and tensor_parallel.autotp_size when above 1, and ds.{model, seq_len, nproc,
/// activation_checkpointing, steps, data}. Validated (configs::validate) before it is returned.
configs::Config config_from_plan(const estimators::Plan& plan, const profiles::ClusterSpec& cluster,
                                 const EmitOptions& options);

/// `ds train --nproc <ranks per node> --config <path>` (with --hostfile hostfile on more than one
/// node, and `--data data/train.bin` to fill in when the config names no data).
std::string launch_line(const profiles::ClusterSpec& cluster, const std::string& config_path, bool config_has_data = true);

}  // namespace ds::autotune
