// The CPU optimizer step of ZeRO-Offload: Adam / AdamW over flat fp32 arrays, SIMD per ISA and
// OpenMP across cores, with an optional fused copy of the updated params as bf16 or fp16.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_isa.hpp"

namespace ds::kernels {

/// Hyper-parameters of one step, named and defaulted as torch.optim.AdamW. Doubles, like the
/// Python floats torch computes its per-step scalars from; each is rounded to float once per call.
struct AdamOptions {
  double lr = 1e-3;              ///< learning rate, >= 0
  double beta1 = 0.9;            ///< first-moment decay, in [0, 1)
  double beta2 = 0.999;          ///< second-moment decay, in [0, 1)
  double eps = 1e-8;             ///< added to the bias-corrected sqrt(exp_avg_sq), >= 0
  double weight_decay = 0.0;     ///< >= 0; how it applies depends on `adamw`
  bool adamw = true;             ///< true: param *= 1 - lr*wd first (AdamW); false: grad += wd*param (Adam, L2)
  bool bias_correction = true;   ///< false: DeepSpeed's bias_correction=False (both corrections 1)
  std::int64_t step = 1;         ///< 1-based number of this step (torch's state['step'] after increment)
};

/// Format of the optional reduced-precision copy of the updated params.
enum class HalfType { kNone, kBf16, kFp16 };

/// The arrays one step updates in place (not owned). All hold `n` elements.
struct AdamArrays {
  float* params = nullptr;
  const float* grads = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  std::int64_t n = 0;
  /// Optional: receives the updated params as bf16 or fp16 bits, rounded to nearest even as
  /// torch's `.bfloat16()` / `.half()` round (the copy ZeRO-Offload sends back to the GPU).
  std::uint16_t* params_half = nullptr;
  HalfType half_type = HalfType::kNone;
};

/// One Adam/AdamW step with torch 1.13's formulas:
///   g = grad (+ wd*param for Adam);  param *= 1 - lr*wd (AdamW)
///   m = beta1*m + (1-beta1)*g;       v = beta2*v + (1-beta2)*g*g
///   param += -(lr / (1-beta1^step)) * m / (sqrt(v) / sqrt(1-beta2^step) + eps)
/// Runs on every core (OpenMP) with the best ISA of cpu_isa(). Every ISA gives bit-identical
/// results (same IEEE operations in the same order, no FMA contraction).
/// Throws UsageError for bad hyper-parameters or missing arrays.
void adam_step(const AdamOptions& options, const AdamArrays& arrays);

/// The same with the ISA chosen by the caller (tests, benchmarks); one this CPU lacks is a UsageError.
void adam_step(const AdamOptions& options, const AdamArrays& arrays, CpuIsa isa);

}  // namespace ds::kernels
