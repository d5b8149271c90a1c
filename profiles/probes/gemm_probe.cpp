// CPU GEMM throughput through LibTorch (the BLAS it links: OpenBLAS on Debian when set up).
#include <torch/torch.h>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {
namespace {

struct GemmShape {
  const char* name;
  std::int64_t m, n, k;
};

}  // namespace

void probe_cpu_gemm(const ProbeOptions& options, ProbeReport& report) {
  torch::NoGradGuard no_grad;
  // Square, and transformer-shaped: tokens x hidden times hidden x 4*hidden (the MLP up-projection).
  std::vector<GemmShape> shapes = options.quick
                                      ? std::vector<GemmShape>{{"square", 512, 512, 512}, {"mlp", 1024, 2048, 512}}
                                      : std::vector<GemmShape>{{"square", 1024, 1024, 1024},
                                                               {"square", 2048, 2048, 2048},
                                                               {"mlp", 2048, 4096, 1024},
                                                               {"attn_proj", 2048, 1024, 1024}};
  const int repeats = options.quick ? 5 : 10;
  torch::manual_seed(1234);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const char* dtype_name = dtype == torch::kFloat32 ? "fp32" : "bf16";
    for (const auto& s : shapes) {
      // Random normal data: some BLAS paths short-cut zeros, which would flatter the number.
      auto a = torch::randn({s.m, s.k}).to(dtype);
      auto b = torch::randn({s.k, s.n}).to(dtype);
      auto c = torch::empty({s.m, s.n}, dtype);
      auto seconds = time_repeated(2, repeats, [&] { torch::mm_out(c, a, b); });
      std::vector<double> gflops;
      double flop = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
      for (double t : seconds) gflops.push_back(flop / t / 1e9);
      Summary sum = summarize(gflops);
      report.add({"cpu.gemm",
                  {{"dtype", dtype_name}, {"shape", s.name}, {"m", s.m}, {"n", s.n}, {"k", s.k},
                   {"threads", torch::get_num_threads()}},
                  sum.median, "GFLOP/s", sum.spread, sum.runs});
    }
  }
}

}  // namespace ds::profiles
