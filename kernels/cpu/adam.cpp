#include "kernels/cpu/adam.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.hpp"
#include "kernels/cpu/adam_range.hpp"
#include "kernels/cpu/half.hpp"

namespace ds::kernels {
namespace detail {

// The reference every SIMD loop must equal bit for bit, and their tails. The order of operations
// is torch 1.13's (_single_tensor_adam/adamw); ds_kernels is compiled with -ffp-contract=off so
// no multiply-add is fused here or in the intrinsics.
template <>
void adam_range<CpuIsa::kScalar>(const AdamConstants& c, const AdamArrays& a, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) {
    float p = a.params[i];
    float g = a.grads[i];
    if (c.coupled) g = g + c.l2 * p;
    if (c.decoupled) p = p * c.decay;
    const float m = a.exp_avg[i] * c.beta1 + c.one_minus_beta1 * g;
    const float v = a.exp_avg_sq[i] * c.beta2 + (c.one_minus_beta2 * g) * g;
    const float denom = std::sqrt(v) / c.bias_correction2_sqrt + c.eps;
    p = p + (c.neg_step_size * m) / denom;
    a.exp_avg[i] = m;
    a.exp_avg_sq[i] = v;
    a.params[i] = p;
    if (a.half_type == HalfType::kBf16) a.params_half[i] = bf16_bits(p);
    if (a.half_type == HalfType::kFp16) a.params_half[i] = fp16_bits(p);
  }
}

}  // namespace detail

namespace {

// Elements per OpenMP work item: 4 fp32 streams of 32 KiB each. Large enough that the loop
// overhead vanishes, small enough that both cores get equal shares down to ~64K params.
constexpr std::int64_t kTile = 8192;
// Below this a parallel region costs more than the step itself (~1 us on 2 cores).
constexpr std::int64_t kParallelMin = 4 * kTile;

std::string show(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

void check_range(const char* name, double value, bool ok, const char* expected) {
  if (!ok) {
    throw UsageError(format_error(std::string("adam_step: ") + name, "out of range", show(value), expected,
                                  "torch.optim.AdamW accepts the same ranges"));
  }
}

void validate(const AdamOptions& o, const AdamArrays& a) {
  check_range("lr", o.lr, o.lr >= 0 && std::isfinite(o.lr), "a finite value >= 0");
  check_range("beta1", o.beta1, o.beta1 >= 0 && o.beta1 < 1, "a value in [0, 1)");
  check_range("beta2", o.beta2, o.beta2 >= 0 && o.beta2 < 1, "a value in [0, 1)");
  check_range("eps", o.eps, o.eps >= 0 && std::isfinite(o.eps), "a finite value >= 0");
  check_range("weight_decay", o.weight_decay, o.weight_decay >= 0 && std::isfinite(o.weight_decay),
              "a finite value >= 0");
  if (o.step < 1) {
    throw UsageError(format_error("adam_step: step", "out of range", std::to_string(o.step), "a 1-based step >= 1",
                                  "increment the step count before the first call"));
  }
  if (a.n < 0) throw UsageError(format_error("adam_step: n", "negative length", std::to_string(a.n), ">= 0"));
  if (a.n == 0) return;
  const std::pair<const char*, const void*> arrays[] = {
      {"params", a.params}, {"grads", a.grads}, {"exp_avg", a.exp_avg}, {"exp_avg_sq", a.exp_avg_sq}};
  for (const auto& [name, ptr] : arrays) {
    if (ptr == nullptr) {
      throw UsageError(format_error(std::string("adam_step: ") + name, "null pointer for " + std::to_string(a.n) +
                                    " elements", "nullptr", "an array of n floats"));
    }
  }
  if (a.half_type != HalfType::kNone && a.params_half == nullptr) {
    throw UsageError(format_error("adam_step: params_half", "a half copy was asked for without an output array",
                                  "nullptr", "an array of n uint16", "or set half_type to HalfType::kNone"));
  }
}

detail::AdamConstants constants(const AdamOptions& o) {
  detail::AdamConstants c;
  const double step = static_cast<double>(o.step);
  const double bias_correction1 = o.bias_correction ? 1 - std::pow(o.beta1, step) : 1.0;
  const double bias_correction2 = o.bias_correction ? 1 - std::pow(o.beta2, step) : 1.0;
  c.beta1 = static_cast<float>(o.beta1);
  c.one_minus_beta1 = static_cast<float>(1 - o.beta1);
  c.beta2 = static_cast<float>(o.beta2);
  c.one_minus_beta2 = static_cast<float>(1 - o.beta2);
  c.eps = static_cast<float>(o.eps);
  c.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  c.neg_step_size = static_cast<float>(-(o.lr / bias_correction1));
  c.decoupled = o.adamw && o.weight_decay != 0;
  c.coupled = !o.adamw && o.weight_decay != 0;
  c.decay = static_cast<float>(1 - o.lr * o.weight_decay);
  c.l2 = static_cast<float>(o.weight_decay);
  return c;
}

using RangeKernel = void (*)(const detail::AdamConstants&, const AdamArrays&, std::int64_t, std::int64_t);

RangeKernel kernel_for(CpuIsa isa) {
  static const CpuIsa best = choose_cpu_isa(detect_cpu_features(), "");
  if (static_cast<int>(isa) > static_cast<int>(best)) {
    throw UsageError(format_error("adam_step: isa", "this CPU lacks the instruction set asked for", to_string(isa),
                                  std::string("at most ") + to_string(best)));
  }
  switch (isa) {
    case CpuIsa::kAvx512: return detail::adam_range<CpuIsa::kAvx512>;
    case CpuIsa::kAvx2: return detail::adam_range<CpuIsa::kAvx2>;
    case CpuIsa::kScalar: break;
  }
  return detail::adam_range<CpuIsa::kScalar>;
}

}  // namespace

void adam_step(const AdamOptions& options, const AdamArrays& arrays) { adam_step(options, arrays, cpu_isa()); }

// performance-critical: benchmark any change (tests/kernels/adam_bench.cpp).
void adam_step(const AdamOptions& options, const AdamArrays& arrays, CpuIsa isa) {
  validate(options, arrays);
  const RangeKernel kernel = kernel_for(isa);
  const detail::AdamConstants c = constants(options);
  const std::int64_t n = arrays.n;
  const std::int64_t tiles = (n + kTile - 1) / kTile;
  // Static schedule: each thread gets one contiguous run of tiles, so its pages stay its own
  // from one step to the next (first touch, NUMA).
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (std::int64_t t = 0; t < tiles; ++t) {
    kernel(c, arrays, t * kTile, std::min(n, (t + 1) * kTile));
  }
}

}  // namespace ds::kernels
