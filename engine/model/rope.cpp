#include "engine/model/rope.hpp"

#include <torch/torch.h>

#include <cmath>
#include <numbers>

#include "common/error.hpp"
#include "engine/model/layers.hpp"

namespace ds::engine::model {
namespace {

// transformers.modeling_rope_utils._compute_llama3_parameters (Llama 3.1 release).
std::vector<double> llama3_scaled(const std::vector<double>& inv_freq, const estimators::RopeScaling& s,
                                  const std::string& model) {
  if (s.original_max_position_embeddings <= 0 || s.high_freq_factor <= s.low_freq_factor) {
    throw UsageError(format_error(model + ": rope_scaling", "llama3 scaling needs original_max_position_embeddings > 0 "
                                  "and high_freq_factor > low_freq_factor",
                                  std::to_string(s.original_max_position_embeddings) + ", " +
                                      std::to_string(s.low_freq_factor) + ", " + std::to_string(s.high_freq_factor)));
  }
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / s.low_freq_factor;
  const double high_freq_wavelen = old_len / s.high_freq_factor;
  std::vector<double> out;
  out.reserve(inv_freq.size());
  for (double f : inv_freq) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen < high_freq_wavelen) {
      out.push_back(f);
    } else if (wavelen > low_freq_wavelen) {
      out.push_back(f / s.factor);
    } else {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      out.push_back((1.0 - smooth) * f / s.factor + smooth * f);
    }
  }
  return out;
}

}  // namespace

std::vector<double> rope_inv_freq(const estimators::ModelSpec& spec) {
  const std::int64_t d = spec.head_dim;
  std::vector<double> inv(static_cast<std::size_t>(d / 2));
  for (std::int64_t i = 0; i < d / 2; ++i) {
    inv[static_cast<std::size_t>(i)] = 1.0 / std::pow(spec.rope_theta, static_cast<double>(2 * i) / static_cast<double>(d));
  }
  const auto& s = spec.rope_scaling;
  if (s.type.empty()) return inv;
  if (s.type == "linear") {
    for (double& f : inv) f /= s.factor;
    return inv;
  }
  if (s.type == "llama3") return llama3_scaled(inv, s, spec.name);
  throw UsageError(format_error(spec.name + ": rope_scaling.rope_type", "not supported by the ds engine",
                                "'" + s.type + "'", "none, \"linear\" or \"llama3\""));
}

RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& positions, at::ScalarType dtype) {
  const auto compute = compute_dtype(dtype);
  auto inv = inv_freq.to(compute);
  auto pos = positions.dim() == 1 ? positions.unsqueeze(0) : positions;         // [B, T]
  auto freqs = pos.to(compute).unsqueeze(-1) * inv;                              // [B, T, d/2]
  auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);                        // [B, 1, T, d]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables) {
  const auto half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);
  return x * tables.cos + rotated * tables.sin;
}

}  // namespace ds::engine::model
