// fp32 -> bf16 / fp16 rounding against the IEEE definitions: every finite half value converts to
// itself, every midpoint between neighbours goes to the even one (and a hair off it to the nearer
// one), overflow is infinity, NaN stays NaN; plus a few values checked against torch itself.
// (kRounded in adam_test.cpp holds more torch values: ties, subnormals and NaN.)
#include "kernels/cpu/half.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ds::kernels {
namespace {

// The value of half-precision bits `h` (sign clear) from the format's definition, as a double:
// `mantissa` stored bits, exponent bias `bias`. The all-ones exponent reads as the next power of
// two (2^16 for fp16, 2^128 for bf16), which is where ties at the top round to infinity.
double value_of(std::uint16_t h, int mantissa, int bias) {
  const int e = h >> mantissa;
  const int m = h & ((1 << mantissa) - 1);
  if (e == 0) return std::ldexp(m, 1 - bias - mantissa);
  return std::ldexp((1 << mantissa) + m, e - bias - mantissa);
}

struct Format {
  const char* name;
  std::uint16_t (*convert)(float);
  int mantissa, bias;
  std::uint16_t infinity;
};
const Format kFormats[] = {{"fp16", fp16_bits, 10, 15, 0x7C00}, {"bf16", bf16_bits, 7, 127, 0x7F80}};

TEST(Half, EveryFiniteValueConvertsToItself) {
  for (const Format& f : kFormats) {
    for (std::uint32_t h = 0; h < f.infinity; ++h) {
      const auto x = static_cast<float>(value_of(static_cast<std::uint16_t>(h), f.mantissa, f.bias));
      ASSERT_EQ(f.convert(x), h) << f.name << " " << x;
      ASSERT_EQ(f.convert(-x), h | 0x8000u) << f.name << " " << -x;
    }
  }
}

TEST(Half, MidpointsRoundToEvenAndOthersToNearest) {
  for (const Format& f : kFormats) {
    for (std::uint32_t h = 0; h < f.infinity; ++h) {
      // Neighbours differ in at most mantissa + 2 significant bits: the midpoint is exact in fp32.
      const double lo = value_of(static_cast<std::uint16_t>(h), f.mantissa, f.bias);
      const double hi = value_of(static_cast<std::uint16_t>(h + 1), f.mantissa, f.bias);
      const auto mid = static_cast<float>((lo + hi) / 2);
      ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
      const std::uint32_t even = h % 2 == 0 ? h : h + 1;
      ASSERT_EQ(f.convert(mid), even) << f.name << " tie above " << h;
      ASSERT_EQ(f.convert(std::nextafter(mid, 0.0f)), h) << f.name << " below the tie above " << h;
      ASSERT_EQ(f.convert(std::nextafter(mid, INFINITY)), h + 1) << f.name << " past the tie above " << h;
    }
  }
}

TEST(Half, OverflowIsInfinityAndNanStaysNan) {
  constexpr float kMax = std::numeric_limits<float>::max();
  EXPECT_EQ(fp16_bits(65504.0f), 0x7BFF);  // fp16's largest
  EXPECT_EQ(fp16_bits(1e10f), 0x7C00);
  EXPECT_EQ(fp16_bits(-kMax), 0xFC00);
  EXPECT_EQ(fp16_bits(-INFINITY), 0xFC00);
  EXPECT_EQ(bf16_bits(kMax), 0x7F80);  // fp32's largest is past bf16's last tie
  EXPECT_EQ(bf16_bits(INFINITY), 0x7F80);
  EXPECT_EQ(bf16_bits(-INFINITY), 0xFF80);
  // A signalling NaN whose payload sits below bf16's bits must not truncate to infinity.
  const float snan = std::bit_cast<float>(0x7F800001u);
  EXPECT_EQ(bf16_bits(snan), 0x7FC0);
  EXPECT_EQ(bf16_bits(-snan), 0x7FC0);
  EXPECT_EQ(fp16_bits(snan), 0x7E00);
  EXPECT_EQ(fp16_bits(-snan), 0xFE00);
  EXPECT_EQ(fp16_bits(std::bit_cast<float>(0x7FFFFFFFu)), 0x7E00);
}

// torch 1.13 (/usr/bin/python3): torch.tensor([x]).to(torch.bfloat16 / torch.float16), the bits
// read through .view(torch.int16).
struct TorchRounded {
  float x;
  std::uint16_t bf16, fp16;
};
const TorchRounded kTorch[] = {
    {0.1f, 0x3DCD, 0x2E66},     {1.0f / 3.0f, 0x3EAB, 0x3555},  {3.14159265358979f, 0x4049, 0x4248},
    {-1e-07f, 0xB3D7, 0x8002},  {6.1e-05f, 0x3880, 0x03FF},     {1e-39f, 0x000B, 0x0000},
    {3e38f, 0x7F62, 0x7C00},    {-123456.789f, 0xC7F1, 0xFC00}, {0.000123f, 0x3901, 0x0808},
};

TEST(Half, MatchesTorch) {
  for (const auto& r : kTorch) {
    EXPECT_EQ(bf16_bits(r.x), r.bf16) << r.x;
    EXPECT_EQ(fp16_bits(r.x), r.fp16) << r.x;
  }
}

}  // namespace
}  // namespace ds::kernels
