#include "estimators/flops.hpp"

namespace ds::estimators {

TrainingFlops training_flops(const ModelSpec& spec, const ParamCount& count, std::int64_t seq_len) {
  // Lookups, not products: the token embedding and GPT-2's learned positions.
  std::int64_t lookups = count.group_total("embeddings") + count.group_total("positional");
  std::int64_t matmul = count.active_per_token - lookups;
  // A tied lm_head is the embedding matrix used as a product: it counts once more here.
  if (count.tied_embeddings) matmul += spec.vocab * spec.hidden;
  TrainingFlops flops;
  flops.matmul_params = matmul;
  flops.dense_per_token = 6.0 * static_cast<double>(matmul);
  flops.attention_per_token = 12.0 * static_cast<double>(spec.layers) * static_cast<double>(spec.q_dim()) *
                              static_cast<double>(seq_len);
  return flops;
}

double model_flops_utilization(double tokens_per_s, double flops_per_token, double peak_flops_per_s) {
  if (peak_flops_per_s <= 0) return 0.0;
  return tokens_per_s * flops_per_token / peak_flops_per_s;
}

}  // namespace ds::estimators
