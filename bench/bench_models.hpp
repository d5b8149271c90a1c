#pragma once
// Models the engine benchmarks run, defined once so that `ds bench` and the Google Benchmark
// programs (tests/infer/serve_bench.cpp) measure the same thing.
#include "estimators/model_spec.hpp"

namespace ds::bench {

/// A Llama-layout model (GQA 8/4 heads, RoPE, SwiGLU) of 4 layers x 256 wide, with the byte
/// tokenizer's 257-token vocabulary and 512 positions: small enough for a 2-core CPU.
estimators::ModelSpec small_llama_spec();

}  // namespace ds::bench
