#pragma once
// Shared inputs of the autotune tests: GPT-2 small (124,439,808 params, 12 layers/heads, hidden
// 768) and a measured-looking cluster with round rates, so every cost term can be checked by hand.
#include "autotune/tuner.hpp"
#include "estimators/model_spec.hpp"
#include "estimators/plan.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::test {

inline estimators::ModelSpec gpt2() { return estimators::load_model_spec("gpt2"); }

/// `gpus` devices of 80 GiB on one node; GEMM 1e12 FLOP/s (bf16), bus 1e10 B/s, HBM 1e11 B/s,
/// PCIe 1e10 B/s each way, CPU Adam 1e9 params/s, disk 1e9 B/s. is_preset = false: no derating.
inline profiles::ClusterSpec round_cluster(int gpus = 1) {
  profiles::ClusterSpec c;
  c.nodes = 1;
  c.gpus_per_node = gpus;
  c.device = profiles::DeviceKind::kGpu;
  c.device_name = "round";
  c.device_memory_bytes = 80.0 * 1024 * 1024 * 1024;
  c.cpu_memory_per_node_bytes = 1024.0 * 1024 * 1024 * 1024;
  c.nvme_bytes_per_node = 4e12;
  c.rates.gemm_flops_per_s = {1e11, 1e12, 1e12};
  c.rates.hbm_bytes_per_s = 1e11;
  c.rates.pcie_h2d_bytes_per_s = 1e10;
  c.rates.pcie_d2h_bytes_per_s = 1e10;
  c.rates.intra_node_bus_bytes_per_s = 1e10;
  c.rates.inter_node_bus_bytes_per_s = 1e9;
  c.rates.cpu_adam_params_per_s = 1e9;
  c.rates.disk_read_bytes_per_s = 1e9;
  c.rates.disk_write_bytes_per_s = 1e9;
  c.source = "round";
  c.is_preset = false;
  return c;
}

/// GPT-2 at seq 1024, bf16 AdamW, one micro-batch of one sequence on one device.
inline estimators::Plan base_plan() {
  estimators::Plan p;
  p.seq_len = 1024;
  p.dtype = estimators::DType::kBf16;
  p.optimizer = estimators::OptimizerKind::kAdamW;
  return p;
}

/// A small search for tuner tests: micro-batches 1, 2 and 4, one bucket size, seq 1024, top 5.
inline autotune::TuneOptions small_tune_options() {
  autotune::TuneOptions o;
  o.space.micro_batches = {1, 2, 4};
  o.space.bucket_sizes = {500'000'000};
  o.space.seq_len = 1024;
  o.top_k = 5;
  return o;
}

}  // namespace ds::test
