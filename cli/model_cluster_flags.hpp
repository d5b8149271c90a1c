#pragma once
// The flags that name a model (--model/--params/...) and a cluster (--gpu/--profile/--nodes/...),
// shared by `ds estimate memory` and `ds tune` so both accept the same spellings.
namespace CLI {
class App;
}
namespace ds::estimators {
struct ModelOptions;
struct ClusterOptions;
}  // namespace ds::estimators

namespace ds::cli {

/// --model, --params, --layers, --hidden, --seq.
void add_model_flags(CLI::App* sub, estimators::ModelOptions& options);

/// --gpu (or --profile), --nodes, --gpus-per-node, --gpu-mem, --cpu-mem, --nvme.
void add_cluster_flags(CLI::App* sub, estimators::ClusterOptions& options);

}  // namespace ds::cli
