// ds's CPU Adam kernel beside torch::optim::AdamW on one flat fp32 tensor of the same size, same
// thread count, and the STREAM triad, all in one run: the table of docs/performance.md.
// Run: ./ds_bench_engine --benchmark_filter='DsAdam|TorchAdamW|StreamTriad'
#include <benchmark/benchmark.h>
#include <omp.h>
#include <torch/torch.h>

#include "tests/kernels/adam_bench_support.hpp"

namespace {

// The same step as DsAdam: AdamW, lr 1e-3, wd 0.01, one tensor, the grad already in place.
void BM_TorchAdamW(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  torch::set_num_threads(omp_get_max_threads());
  auto param = torch::full({n}, 0.5f).set_requires_grad(true);
  param.mutable_grad() = torch::full({n}, 1e-3f);
  torch::optim::AdamW adam({param}, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  torch::NoGradGuard no_grad;
  ds::test::run_steps(state, [&] { adam.step(); });
  state.SetLabel("torch.optim.AdamW");
  ds::test::set_bandwidth_counters(state, n, ds::test::kAdamBytesPerParam);
}

const bool kRegistered = [] {
  ds::test::register_ds_adam_benchmarks();
  auto* torch_adam = benchmark::RegisterBenchmark("TorchAdamW", BM_TorchAdamW)->UseRealTime()->Unit(benchmark::kMillisecond);
  torch_adam->ArgName("n");
  for (std::int64_t n : ds::test::kAdamSizes) torch_adam->Arg(n);
  return true;
}();

}  // namespace
