// One AdamW step over ~10M fp32 parameters: ds's flat, chunked optimizer vs LibTorch's
// torch::optim::AdamW over the same tensors kept separately (the PyTorch eager baseline).
// Run: ./ds_bench_engine --benchmark_filter=AdamW
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "engine/train/optimizer.hpp"

namespace {

// A GPT-2-small-like mix of shapes: a few big matrices and many small vectors.
std::vector<torch::Tensor> make_params() {
  torch::manual_seed(0);
  std::vector<torch::Tensor> out;
  for (int layer = 0; layer < 4; ++layer) {
    out.push_back(torch::randn({768, 2304}));
    out.push_back(torch::randn({2304}));
    out.push_back(torch::randn({768, 768}));
    out.push_back(torch::randn({768}));
    out.push_back(torch::randn({768}));
    out.push_back(torch::randn({768}));
  }
  return out;
}

void BM_AdamWFlatChunked(benchmark::State& state) {
  auto params = make_params();
  std::int64_t n = 0;
  for (auto& p : params) n += p.numel();
  torch::Tensor flat = torch::cat([&] {
    std::vector<torch::Tensor> v;
    for (auto& p : params) v.push_back(p.reshape({-1}));
    return v;
  }());
  torch::Tensor grad = torch::randn({n});
  ds::engine::train::Optimizer opt({.rule = ds::engine::train::UpdateRule::kAdamW, .weight_decay = 0.1});
  opt.add_group(flat);
  for (auto _ : state) opt.step({grad}, 1e-4);
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AdamWFlatChunked)->Unit(benchmark::kMillisecond);

void BM_AdamWLibTorch(benchmark::State& state) {
  auto params = make_params();
  std::int64_t n = 0;
  for (auto& p : params) {
    p.requires_grad_();
    p.mutable_grad() = torch::randn(p.sizes());
    n += p.numel();
  }
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-4).weight_decay(0.1));
  for (auto _ : state) opt.step();
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AdamWLibTorch)->Unit(benchmark::kMillisecond);

}  // namespace
