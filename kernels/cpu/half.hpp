// fp32 -> bf16 / fp16 rounding as torch does it, one value at a time: the reference the SIMD
// conversions are tested against, and the tails of the vector loops.
#pragma once
#include <cstdint>

namespace ds::kernels {

/// bf16 bits of `x`, rounded to nearest even; any NaN becomes 0x7FC0 (c10::BFloat16's rule).
std::uint16_t bf16_bits(float x);

/// IEEE fp16 bits of `x`, rounded to nearest even, overflow to infinity, subnormals kept, NaN
/// quiet with its sign (c10::Half, i.e. the FP16 library's fp16_ieee_from_fp32_value).
std::uint16_t fp16_bits(float x);

}  // namespace ds::kernels
