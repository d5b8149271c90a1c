// Adam over 8 floats at a time with AVX2 (+F16C for the fp16 copy): adam_loop (adam_loop.hpp)
// on 256-bit vectors.
#include <immintrin.h>

#include "kernels/cpu/adam_loop.hpp"

namespace ds::kernels::detail {
namespace {

struct Avx2 {
  using Vec = __m256;
  static constexpr int kWidth = 8;
  static Vec set1(float x) { return _mm256_set1_ps(x); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Vec x) { _mm256_storeu_ps(p, x); }
  static Vec add(Vec x, Vec y) { return _mm256_add_ps(x, y); }
  static Vec mul(Vec x, Vec y) { return _mm256_mul_ps(x, y); }
  static Vec div(Vec x, Vec y) { return _mm256_div_ps(x, y); }
  static Vec sqrt(Vec x) { return _mm256_sqrt_ps(x); }

  // torch's bf16 rounding (c10::BFloat16): add 0x7FFF plus the lowest kept bit, keep the top
  // half; NaN becomes 0x7FC0. The 8 results fit 16 bits, so the saturating pack only narrows.
  static void store_bf16(std::uint16_t* out, Vec p) {
    const __m256i bits = _mm256_castps_si256(p);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i top = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF))), 16);
    const __m256 is_nan = _mm256_cmp_ps(p, p, _CMP_UNORD_Q);
    top = _mm256_blendv_epi8(top, _mm256_set1_epi32(0x7FC0), _mm256_castps_si256(is_nan));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm_packus_epi32(_mm256_castsi256_si128(top), _mm256_extracti128_si256(top, 1)));
  }

  static void store_fp16(std::uint16_t* out, Vec p) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

}  // namespace

template <>
void adam_range<CpuIsa::kAvx2>(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end) {
  adam_loop<Avx2>(c, a, begin, end);
}

}  // namespace ds::kernels::detail
