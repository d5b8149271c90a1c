// Inside the Adam kernel: the per-step constants and the per-ISA loops over one tile, each ISA's
// loop in its own translation unit compiled with that ISA's flags (kernels/CMakeLists.txt).
#pragma once
#include <cstdint>

#include "kernels/cpu/adam.hpp"

namespace ds::kernels::detail {

/// One step's scalars as float, each rounded once from the doubles of AdamOptions, as torch turns
/// its Python floats into the float scalars of its elementwise kernels.
struct AdamConstants {
  float beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0;
  float eps = 0;
  float bias_correction2_sqrt = 1;
  float neg_step_size = 0;   ///< -lr / bias_correction1
  float decay = 1;           ///< AdamW's param multiplier 1 - lr*wd
  float l2 = 0;              ///< Adam's wd, added to the gradient times param
  bool decoupled = false;    ///< apply `decay` (AdamW with wd > 0)
  bool coupled = false;      ///< apply `l2` (Adam with wd > 0)
};

/// Steps elements [begin, end). Every specialisation performs the same IEEE operations in the
/// same order as the scalar one, so results are bit-identical across ISAs.
template <CpuIsa isa>
void adam_range(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end);

template <>
void adam_range<CpuIsa::kScalar>(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end);
template <>
void adam_range<CpuIsa::kAvx2>(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end);
template <>
void adam_range<CpuIsa::kAvx512>(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end);

}  // namespace ds::kernels::detail
