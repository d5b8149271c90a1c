#pragma once
// Training FLOPs per token, for MFU. The formula is PaLM's (Chowdhery et al. 2022, appendix B):
//
//   flops/token = 6 * N + 12 * L * H * T
//
// N: parameters that take part in a matrix multiply for each token (every weight except the input
// and learned-position embeddings, which are lookups; the lm_head counts even when it is tied to
// the input embedding; for MoE only the experts a token is routed to). 6 = 2 (multiply-add) x 3
// (forward, and backward's two products). The second term is attention's score and value products
// (2 x 2 x T x H per layer forward, x3 for forward + backward) with H = heads x head_dim, counted
// over the whole T x T square as PaLM does, although a causal mask makes half of it unused.
// Recomputation under activation checkpointing is not counted: this is model FLOPs (MFU), not
// hardware FLOPs (HFU).
#include <cstdint>

#include "estimators/model_spec.hpp"
#include "estimators/param_count.hpp"

namespace ds::estimators {

struct TrainingFlops {
  std::int64_t matmul_params = 0;  ///< N above
  double dense_per_token = 0;      ///< 6 N
  double attention_per_token = 0;  ///< 12 L H T
  double per_token() const { return dense_per_token + attention_per_token; }
};

/// FLOPs of one training token (forward + backward) of `spec` at sequence length `seq_len`.
/// `count` must be count_params(spec).
TrainingFlops training_flops(const ModelSpec& spec, const ParamCount& count, std::int64_t seq_len);

/// Model FLOPs utilisation: tokens_per_s * flops_per_token / peak_flops_per_s; 0 when the peak is
/// unknown (<= 0).
double model_flops_utilization(double tokens_per_s, double flops_per_token, double peak_flops_per_s);

}  // namespace ds::estimators
