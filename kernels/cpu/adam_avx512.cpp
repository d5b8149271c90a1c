// Adam over 16 floats at a time with AVX-512 F/BW: adam_loop (adam_loop.hpp) on 512-bit vectors.
// The bf16 copy rounds with integer adds rather than AVX512-BF16's vcvtneps2bf16, which flushes
// subnormals to zero where torch keeps them.
#include <immintrin.h>

// GCC 12 warns that the "undefined" pass-through operand of every unmasked AVX-512 intrinsic may
// be used uninitialized once they are inlined into the traits below (GCC bug 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "kernels/cpu/adam_loop.hpp"

namespace ds::kernels::detail {
namespace {

struct Avx512 {
  using Vec = __m512;
  static constexpr int kWidth = 16;
  static Vec set1(float x) { return _mm512_set1_ps(x); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Vec x) { _mm512_storeu_ps(p, x); }
  static Vec add(Vec x, Vec y) { return _mm512_add_ps(x, y); }
  static Vec mul(Vec x, Vec y) { return _mm512_mul_ps(x, y); }
  static Vec div(Vec x, Vec y) { return _mm512_div_ps(x, y); }
  static Vec sqrt(Vec x) { return _mm512_sqrt_ps(x); }

  // torch's bf16 rounding (c10::BFloat16): add 0x7FFF plus the lowest kept bit, keep the top
  // half; NaN becomes 0x7FC0. vpmovdw narrows the 16 lanes to 16 bits.
  static void store_bf16(std::uint16_t* out, Vec p) {
    const __m512i bits = _mm512_castps_si512(p);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    const __m512i top = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
    const __mmask16 is_nan = _mm512_cmp_ps_mask(p, p, _CMP_UNORD_Q);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                        _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(top, is_nan, _mm512_set1_epi32(0x7FC0))));
  }

  static void store_fp16(std::uint16_t* out, Vec p) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

}  // namespace

template <>
void adam_range<CpuIsa::kAvx512>(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end) {
  adam_loop<Avx512>(c, a, begin, end);
}

}  // namespace ds::kernels::detail
