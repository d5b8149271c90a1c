// How fast `ds tune` ranks: issue 8's target is 10^5 candidate plans ranked in under 1 s.
// BM_Tune104k: the whole search (enumerate, prune with the memory estimator, price, keep the top
// 10) over 104,004 candidates of Llama-2-7B on 8 nodes of 8 H100s. BM_CostModel: one plan priced.
#include <benchmark/benchmark.h>

#include "autotune/tuner.hpp"
#include "estimators/presets.hpp"
#include "profiles/hardware_presets.hpp"

namespace {

using namespace ds::autotune;
using ds::estimators::DType;

ds::profiles::ClusterSpec cluster_64() {
  auto cluster = ds::profiles::hardware_preset("h100-80g");
  cluster.nodes = 8;
  return cluster;
}

// 21 layouts (tp 1, 2, 4, 8 x pp dividing 32 layers and 64 / tp); 4 of them pp 1 with 14 offload
// combinations, 17 with pp > 1 and 3 (stages 0, 1): 107; x 3 dtypes x 3 checkpointing x 6
// micro-batches x 6 accumulations x 3 bucket sizes = 104,004 candidates.
TuneOptions options_104k() {
  TuneOptions o;
  o.space.dtypes = {DType::kBf16, DType::kFp16, DType::kFp32};
  o.space.micro_batches = {1, 2, 4, 8, 16, 32};
  o.space.grad_accums = {1, 2, 4, 8, 16, 32};
  o.space.seq_len = 4096;
  return o;
}

void BM_Tune104k(benchmark::State& state) {
  const auto& model = ds::estimators::find_model_preset("llama-2-7b")->spec;
  const auto cluster = cluster_64();
  const auto options = options_104k();
  std::int64_t candidates = 0;
  for (auto _ : state) {
    auto result = tune(model, cluster, options);
    candidates = result.candidates;
    benchmark::DoNotOptimize(result.top.data());
  }
  state.counters["candidates"] = static_cast<double>(candidates);
  state.counters["plans_per_s"] = benchmark::Counter(static_cast<double>(candidates) * state.iterations(),
                                                     benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Tune104k)->Unit(benchmark::kMillisecond);

void BM_CostModel(benchmark::State& state) {
  const auto& model = ds::estimators::find_model_preset("llama-2-7b")->spec;
  CostModel cost(model, cluster_64());
  ds::estimators::Plan plan;
  plan.dp = 16;
  plan.tp = 4;
  plan.zero_stage = 1;
  plan.grad_accum = 8;
  for (auto _ : state) benchmark::DoNotOptimize(cost.estimate(plan));
}
BENCHMARK(BM_CostModel)->Unit(benchmark::kNanosecond);

}  // namespace
