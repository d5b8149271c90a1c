#include "kernels/cpu/cpu_isa.hpp"

#include <cpuid.h>

#include <cstdlib>

#include "common/log.hpp"

namespace ds::kernels {
namespace {

unsigned long long xgetbv0() {
  unsigned int eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned int a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  bool osxsave = (c & bit_OSXSAVE) != 0;
  f.fma = (c & bit_FMA) != 0;
  f.f16c = (c & bit_F16C) != 0;
  if (!osxsave) return f;
  unsigned long long xcr0 = xgetbv0();
  bool ymm = (xcr0 & 0x6) == 0x6;        // SSE and AVX state saved by the OS
  bool zmm = (xcr0 & 0xE6) == 0xE6;      // plus opmask and upper ZMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm && (b & bit_AVX2) != 0;
  f.avx512f = zmm && (b & bit_AVX512F) != 0;
  f.avx512bw = zmm && (b & bit_AVX512BW) != 0;
  f.avx512vl = zmm && (b & bit_AVX512VL) != 0;
  f.avx512dq = zmm && (b & bit_AVX512DQ) != 0;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512_bf16 = zmm && (a & (1u << 5)) != 0;
  return f;
}

CpuIsa choose_cpu_isa(const CpuFeatures& f, const std::string& forced) {
  CpuIsa best = CpuIsa::kScalar;
  if (f.avx2 && f.fma && f.f16c) best = CpuIsa::kAvx2;
  if (best == CpuIsa::kAvx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) best = CpuIsa::kAvx512;
  if (forced.empty()) return best;
  CpuIsa want = best;
  if (forced == "scalar") want = CpuIsa::kScalar;
  else if (forced == "avx2") want = CpuIsa::kAvx2;
  else if (forced == "avx512") want = CpuIsa::kAvx512;
  else {
    log::warn("DS_FORCE_CPU_ISA: unknown value '", forced, "'; expected scalar, avx2 or avx512; using ", to_string(best));
    return best;
  }
  if (static_cast<int>(want) > static_cast<int>(best)) {
    log::warn("DS_FORCE_CPU_ISA=", forced, ": this CPU lacks it; using ", to_string(best));
    return best;
  }
  return want;
}

CpuIsa cpu_isa() {
  static const CpuIsa isa = [] {
    const char* forced = std::getenv("DS_FORCE_CPU_ISA");
    return choose_cpu_isa(detect_cpu_features(), forced ? forced : "");
  }();
  return isa;
}

const char* to_string(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar: return "scalar";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kAvx512: return "avx512";
  }
  return "scalar";
}

}  // namespace ds::kernels
