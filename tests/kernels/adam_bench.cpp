// ds's CPU Adam (every ISA this CPU has, threads = cores) at 1M, 10M and 100M params, with the
// STREAM triad of the same run as the yardstick (byte conventions: adam_bench_support.hpp).
// Run: ./ds_bench_kernels --benchmark_filter='DsAdam|StreamTriad'
// torch::optim::AdamW beside it: ds_bench_engine --benchmark_filter='DsAdam|TorchAdamW|StreamTriad'.
#include "tests/kernels/adam_bench_support.hpp"

namespace {

const bool kRegistered = [] {
  ds::test::register_ds_adam_benchmarks();
  return true;
}();

}  // namespace
