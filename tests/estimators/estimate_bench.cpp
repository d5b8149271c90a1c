// How long `ds estimate memory` takes for the largest preset: the library's full table (every
// ZeRO stage x offload row with its largest-micro-batch search) and the whole `ds` process.
// Target (issue 4): whole-process time well under 100 ms.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "estimators/estimate_table.hpp"
#include "estimators/presets.hpp"
#include "profiles/hardware_presets.hpp"

namespace {

using namespace ds::estimators;

void BM_FullTable405b(benchmark::State& state) {
  const ModelSpec& model = find_model_preset("llama-3.1-405b")->spec;
  auto cluster = ds::profiles::hardware_preset("h100-80g");
  cluster.nodes = 16;
  Plan base;
  base.dp = 128;
  base.seq_len = 4096;
  for (auto _ : state) {
    auto rows = estimate_table(model, cluster, base);
    benchmark::DoNotOptimize(rows.data());
  }
}
BENCHMARK(BM_FullTable405b)->Unit(benchmark::kMicrosecond);

// Includes process start-up of the light ds (no LibTorch; tests/cli/startup_bench.cpp compares).
void BM_WholeProcess405b(benchmark::State& state) {
  const std::string cmd =
      std::string(DS_BINARY) + " estimate memory --model llama-3.1-405b --nodes 16 --seq 4096 > /dev/null";
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) state.SkipWithError("ds estimate memory failed");
  }
}
BENCHMARK(BM_WholeProcess405b)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
