#include "cli/model_cluster_flags.hpp"

#include <CLI/CLI.hpp>

#include "estimators/estimate_options.hpp"

namespace ds::cli {

void add_model_flags(CLI::App* sub, estimators::ModelOptions& o) {
  sub->add_option("--model", o.model, "Preset name, config.json, or a directory holding one (see `ds estimate presets`)");
  sub->add_option("--params", o.params, "Rough Llama-style model of this many parameters instead, e.g. 7e9");
  sub->add_option("--layers", o.layers, "With --params: number of layers");
  sub->add_option("--hidden", o.hidden, "With --params: hidden size");
  sub->add_option("--seq", o.seq, "Sequence length (default: the model's maximum, at most 4096)");
}

void add_cluster_flags(CLI::App* sub, estimators::ClusterOptions& c) {
  auto* gpu = sub->add_option("--gpu", c.gpu, "Hardware preset: h100-80g, h200, a100-80g, a100-40g, l40s, cpu-only")
                  ->capture_default_str();
  sub->add_option("--profile", c.profile, "A stored `ds profile` (id or 'latest') instead of a preset")->excludes(gpu);
  sub->add_option("--nodes", c.nodes, "Nodes (default 1)");
  sub->add_option("--gpus-per-node", c.gpus_per_node, "Devices per node (default: the preset's)");
  sub->add_option("--gpu-mem", c.gpu_mem, "Override device memory, e.g. 80GB or 80GiB");
  sub->add_option("--cpu-mem", c.cpu_mem, "Override CPU memory per node, e.g. 512GB");
  sub->add_option("--nvme", c.nvme, "Override NVMe capacity per node, e.g. 4TB");
}

}  // namespace ds::cli
