#pragma once
#include <string>

namespace ds::kernels {

/// Instruction sets a CPU kernel can be compiled for, best last.
enum class CpuIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

/// What this CPU supports, as detected by cpuid (and the OS saving the vector state).
struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_bf16 = false;
};

CpuFeatures detect_cpu_features();

/// The best ISA this CPU runs, cached after the first call. DS_FORCE_CPU_ISA=scalar|avx2|avx512
/// lowers it (asking for more than the CPU has is refused with a warning and ignored).
CpuIsa cpu_isa();

/// Picks the ISA for given features and an optional override (testable without cpuid).
CpuIsa choose_cpu_isa(const CpuFeatures& features, const std::string& forced);

const char* to_string(CpuIsa isa);

}  // namespace ds::kernels
