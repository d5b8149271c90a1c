#pragma once
// Exact parameter counts from the architecture, module by module, with Hugging Face's module
// names, so `ds estimate params` can be checked line by line against `model.named_modules()`.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "estimators/model_spec.hpp"

namespace ds::estimators {

/// How tensor parallelism (Megatron-LM, Shoeybi et al. 2019) shards a module's weight.
enum class TpSharding {
  kReplicated,  ///< every tp rank holds all of it (norms, MoE router, learned positions)
  kColumn,      ///< output dimension split: weight and bias divided by tp (q/k/v, gate/up, c_fc)
  kRow,         ///< input dimension split: weight divided by tp, bias replicated (o_proj, down_proj)
  kVocab,       ///< vocabulary split: embeddings and lm_head divided by tp
};

/// One module's own parameters (torch's `parameters(recurse=False)`), repeated `instances` times.
struct ModuleParams {
  std::string name;                 ///< HF module path, "*" for a layer or expert index
  std::string group;                ///< embeddings | positional | attention | mlp | experts | router | norms | final_norm | lm_head
  std::int64_t weight = 0;          ///< elements in its weight
  std::int64_t bias = 0;            ///< elements in its bias, 0 when it has none
  std::int64_t instances = 1;       ///< copies: 1, layers, or layers * experts
  bool per_layer = false;           ///< true when it is part of every transformer block
  TpSharding sharding = TpSharding::kReplicated;

  std::int64_t per_instance() const { return weight + bias; }
  std::int64_t total() const { return per_instance() * instances; }
};

/// The parameter count of a model and where the parameters are.
struct ParamCount {
  std::vector<ModuleParams> modules;  ///< in forward order
  std::int64_t total = 0;             ///< all parameters, a tied matrix counted once
  std::int64_t per_layer = 0;         ///< one transformer block
  std::int64_t largest_module = 0;    ///< largest single module (DeepSpeed's largest_layer_params)
  std::int64_t active_per_token = 0;  ///< MoE: parameters one token passes through; == total if dense
  bool tied_embeddings = false;       ///< lm_head reuses the input embedding

  /// Sum of the modules in one group ("attention", "mlp", ...); 0 for an unknown group.
  std::int64_t group_total(std::string_view group) const;
};

/// Counts every parameter of `spec`.
ParamCount count_params(const ModelSpec& spec);

/// Parameters one model-parallel rank holds on the fullest pipeline stage: layers split into
/// ceil(layers / pp) per stage, the first stage also holding the embeddings and the last the final
/// norm and lm_head (a copy of the embedding when tied and pp > 1, as Megatron-LM does), and every
/// module sharded by tp as its TpSharding says.
std::int64_t params_per_rank(const ParamCount& count, std::int64_t layers, int tp, int pp);

/// Parameters held in tensors of at most `threshold` elements: the ones ZeRO-3 keeps gathered
/// on every rank (stage3_param_persistence_threshold; DeepSpeed's persistent parameters).
std::int64_t small_tensor_params(const ParamCount& count, std::int64_t threshold);

/// small_tensor_params split by where they sit: in one transformer block, and outside the blocks.
struct PersistentParams {
  std::int64_t per_layer = 0;  ///< in each block
  std::int64_t other = 0;      ///< embeddings, final norm, lm_head
};
PersistentParams persistent_params(const ParamCount& count, std::int64_t threshold);

}  // namespace ds::estimators
