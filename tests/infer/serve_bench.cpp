// The gain from continuous batching: the same requests served by the inference engine at 1, 8 and
// 32 concurrent streams, against a naive loop that submits one request and waits for it before
// the next. Same engine, same model (a small random Llama on the CPU), same requests.
//   build/tests/ds_bench_infer --benchmark_counters_tabular=true
// DS_BENCH_DEVICE=cuda runs them on the GPU in bf16 with a Llama-3.2-1B-shaped model (random
// weights, byte vocabulary), as scripts/device-check does.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "bench/bench_models.hpp"
#include "engine/infer/inference_engine.hpp"
#include "engine/model/causal_lm.hpp"
#include "estimators/presets.hpp"

namespace ds::engine::infer {
namespace {

constexpr std::int64_t kPromptTokens = 64;
constexpr std::int64_t kMaxTokens = 32;

bool on_cuda() {
  const char* device = std::getenv("DS_BENCH_DEVICE");
  return device != nullptr && std::string(device) == "cuda";
}

estimators::ModelSpec gpu_spec() {
  auto spec = estimators::find_model_preset("llama-3.2-1b")->spec;
  spec.name = "bench-llama-1b";
  spec.vocab = tokenizer::ByteTokenizer::kVocabSize;
  spec.tied_embeddings = true;
  spec.max_seq = 512;
  return spec;
}

std::unique_ptr<InferenceEngine> make_engine() {
  checkpoint::LoadedModel loaded;
  model::ModelOptions model_options;
  loaded.spec = ds::bench::small_llama_spec();
  if (on_cuda()) {
    loaded.spec = gpu_spec();
    model_options.device = torch::Device(torch::kCUDA);
    model_options.dtype = torch::kBFloat16;
  }
  loaded.model = model::build_model(loaded.spec, model_options);
  loaded.model->eval();
  EngineOptions options;
  options.max_running = 32;
  options.max_batch_tokens = 512;
  return std::make_unique<InferenceEngine>(std::move(loaded), std::make_shared<tokenizer::ByteTokenizer>(), options);
}

serve::GenerationRequest request(std::int64_t i) {
  serve::GenerationRequest r;
  for (std::int64_t t = 0; t < kPromptTokens; ++t) r.prompt.push_back(static_cast<std::uint32_t>((i * 31 + t * 7) % 256));
  r.sampling.temperature = 0.0;
  r.sampling.max_tokens = kMaxTokens;
  return r;
}

/// Waits for the stream's last update; returns the time to its first token (seconds).
double drain(serve::RequestStream& stream) {
  double ttft = -1.0;
  for (;;) {
    auto u = stream.next(std::chrono::milliseconds(1000));
    if (!u) continue;
    if (ttft < 0 && !u->tokens.empty()) ttft = u->time_to_first_token_s;
    if (u->finish) return ttft;
  }
}

void report(benchmark::State& state, std::int64_t streams, double ttft_sum) {
  const auto requests = static_cast<double>(state.iterations() * streams);
  state.counters["requests_per_s"] = benchmark::Counter(requests, benchmark::Counter::kIsRate);
  state.counters["tokens_per_s"] = benchmark::Counter(requests * kMaxTokens, benchmark::Counter::kIsRate);
  state.counters["ttft_ms"] = 1000.0 * ttft_sum / requests;
}

void BM_ContinuousBatching(benchmark::State& state) {
  const auto streams = state.range(0);
  auto engine = make_engine();
  double ttft = 0.0;
  for (auto _ : state) {
    std::vector<std::shared_ptr<serve::RequestStream>> running;
    for (std::int64_t i = 0; i < streams; ++i) running.push_back(engine->submit(request(i)));
    for (auto& s : running) ttft += drain(*s);
  }
  report(state, streams, ttft);
}

void BM_NaiveOneAtATime(benchmark::State& state) {
  const auto streams = state.range(0);
  auto engine = make_engine();
  double ttft = 0.0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < streams; ++i) ttft += drain(*engine->submit(request(i)));
  }
  report(state, streams, ttft);
}

BENCHMARK(BM_ContinuousBatching)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_NaiveOneAtATime)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ds::engine::infer
