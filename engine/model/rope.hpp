#pragma once
// Rotary position embeddings (Su et al. 2021, RoFormer) in Hugging Face Llama's layout: the
// rotation pairs channel i with channel i + head_dim/2 ("rotate_half"), which is how HF
// checkpoints store q_proj/k_proj.
#include <ATen/core/Tensor.h>

#include <vector>

#include "estimators/model_spec.hpp"

namespace ds::engine::model {

/// Per-pair inverse frequencies, head_dim / 2 of them: theta^(-2i/d), then rope_scaling applied.
/// Supported scalings: none, "linear" (divide by factor) and "llama3" (transformers'
/// _compute_llama3_parameters: wavelengths above original_max_position_embeddings /
/// low_freq_factor are divided by factor, those below .../high_freq_factor kept, and the band
/// between interpolated). Other types throw UsageError. Computed in double.
std::vector<double> rope_inv_freq(const estimators::ModelSpec& spec);

/// cos and sin tables for `positions` ([T] or [B, T], int64): shape [1 or B, 1, T, head_dim],
/// computed in compute_dtype(dtype) on the positions' device, then cast to `dtype`.
/// `inv_freq` is rope_inv_freq() as a float64 tensor on that device.
struct RopeTables {
  at::Tensor cos;
  at::Tensor sin;
};
RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& positions, at::ScalarType dtype);

/// x * cos + rotate_half(x) * sin for x [B, heads, T, head_dim].
at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables);

}  // namespace ds::engine::model
