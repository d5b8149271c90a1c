#include "kernels/cpu/half.hpp"

#include <bit>
#include <cmath>

namespace ds::kernels {

std::uint16_t bf16_bits(float x) {
  if (std::isnan(x)) return 0x7FC0;
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  // Adding 0x7FFF plus the lowest kept bit rounds ties to even; the carry may reach the exponent,
  // which is right (rounds up to the next binade or to infinity).
  return static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

std::uint16_t fp16_bits(float x) {
  // Maratyszcza's FP16 library, fp16_ieee_from_fp32_value, which c10::Half uses: the float unit
  // does the rounding. Scaling by 2^112 then 2^-110 makes overflow infinite and lines the value
  // up so that adding `bias` rounds it to fp16's precision (subnormals included).
  const float scale_to_inf = 0x1.0p+112f;
  const float scale_to_zero = 0x1.0p-110f;
  float base = (std::fabs(x) * scale_to_inf) * scale_to_zero;
  const std::uint32_t w = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t shl1_w = w + w;
  const std::uint32_t sign = w & 0x80000000u;
  std::uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(base);
  const std::uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const std::uint32_t mantissa_bits = bits & 0x00000FFFu;
  const std::uint32_t nonsign = exp_bits + mantissa_bits;
  return static_cast<std::uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

}  // namespace ds::kernels
