// The vector loop of the Adam kernel, written once for every ISA: each ISA's translation unit
// (adam_avx2.cpp, adam_avx512.cpp) instantiates it with its own traits type, so all ISAs perform
// the operations of adam_range<kScalar> (adam.cpp) in the same order, by construction.
// Include only from a per-ISA file: the traits type must have internal linkage (anonymous
// namespace), which gives each instantiation internal linkage too, so code compiled with
// AVX-512 flags can never be picked by the linker for a caller on an AVX2-only CPU.
#pragma once
#include "kernels/cpu/adam_range.hpp"

namespace ds::kernels::detail {

/// V: kWidth floats per vector, a `Vec` type and set1/load/store/add/mul/div/sqrt on it, and
/// store_bf16/store_fp16 writing kWidth rounded halves.
template <class V>
void adam_loop(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end) {
  using Vec = typename V::Vec;
  const Vec beta1 = V::set1(c.beta1), one_minus_beta1 = V::set1(c.one_minus_beta1);
  const Vec beta2 = V::set1(c.beta2), one_minus_beta2 = V::set1(c.one_minus_beta2);
  const Vec eps = V::set1(c.eps), bc2_sqrt = V::set1(c.bias_correction2_sqrt);
  const Vec neg_step = V::set1(c.neg_step_size), decay = V::set1(c.decay), l2 = V::set1(c.l2);
  std::int64_t i = begin;
  for (; i + V::kWidth <= end; i += V::kWidth) {
    Vec p = V::load(a.params + i);
    Vec g = V::load(a.grads + i);
    if (c.coupled) g = V::add(g, V::mul(l2, p));
    if (c.decoupled) p = V::mul(p, decay);
    const Vec m = V::add(V::mul(V::load(a.exp_avg + i), beta1), V::mul(one_minus_beta1, g));
    const Vec v = V::add(V::mul(V::load(a.exp_avg_sq + i), beta2), V::mul(V::mul(one_minus_beta2, g), g));
    const Vec denom = V::add(V::div(V::sqrt(v), bc2_sqrt), eps);
    p = V::add(p, V::div(V::mul(neg_step, m), denom));
    V::store(a.exp_avg + i, m);
    V::store(a.exp_avg_sq + i, v);
    V::store(a.params + i, p);
    if (a.half_type == HalfType::kBf16) V::store_bf16(a.params_half + i, p);
    if (a.half_type == HalfType::kFp16) V::store_fp16(a.params_half + i, p);
  }
  adam_range<CpuIsa::kScalar>(c, a, i, end);
}

}  // namespace ds::kernels::detail
