// ds-engine's half of `ds bench`: the cases that need LibTorch (kernels, train, serve) replace
// the names bench/core_cases.cpp registers for the light ds. Fixed seeds and sizes; CPU.
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cstdint>
#include <memory>
#include <thread>

#include "bench/bench_case.hpp"
#include "bench/bench_models.hpp"
#include "bench/statistics.hpp"
#include "bench/tune_regret.hpp"
#include "bench/runner.hpp"
#include "cli/cli_context.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/infer/inference_engine.hpp"
#include "engine/model/causal_lm.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/train/memory_tracker.hpp"
#include "estimators/presets.hpp"
#include "kernels/cpu/adam.hpp"

namespace ds::cli {
namespace {

using bench::BenchCase;
using bench::CaseContext;
using bench::Kind;
using bench::SampleFn;
using bench::seconds_per_op;

// The real case for the name bench/core_cases.cpp lists (same kind, unit, description).
BenchCase real_case(const bench::Registry& registry, const std::string& name,
                    std::function<SampleFn(const CaseContext&)> prepare) {
  const BenchCase* listed = registry.find(name);
  if (listed == nullptr) throw RuntimeError(format_error("ds bench", "engine case not listed", name));
  BenchCase c = *listed;
  c.prepare = std::move(prepare);
  c.own_warmup = name.find("-2ranks-") != std::string::npos;  // ZeroTraining drops each run's first steps
  return c;
}

// ---- kernels -----------------------------------------------------------------------------------

SampleFn adam(const CaseContext&) {
  struct State {
    std::vector<float> params, grads, m, v;
    std::int64_t step = 0;
  };
  constexpr std::int64_t kN = 16 << 20;
  auto s = std::make_shared<State>();
  s->params.resize(kN);
  s->grads.resize(kN);
  s->m.assign(kN, 0.0f);
  s->v.assign(kN, 0.0f);
  std::uint32_t x = 12345;  // fixed xorshift values in [-1, 1)
  for (std::int64_t i = 0; i < kN; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    s->params[i] = static_cast<float>(x) / 2147483648.0f - 1.0f;
    s->grads[i] = 1e-3f * s->params[i];
  }
  return [s] {
    kernels::AdamOptions options;
    options.weight_decay = 0.01;
    options.step = ++s->step;
    const kernels::AdamArrays arrays{s->params.data(), s->grads.data(), s->m.data(), s->v.data(), kN};
    return static_cast<double>(kN) / seconds_per_op(1, [&] { kernels::adam_step(options, arrays); });
  };
}

SampleFn gemm(const CaseContext&) {
  torch::manual_seed(0);
  auto a = std::make_shared<torch::Tensor>(torch::randn({512, 512}));
  auto b = std::make_shared<torch::Tensor>(torch::randn({512, 512}));
  return [a, b] { return seconds_per_op(10, [&] { (void)torch::mm(*a, *b); }); };
}

SampleFn attention(const CaseContext&) {
  torch::manual_seed(1);
  auto q = std::make_shared<torch::Tensor>(torch::randn({1, 8, 256, 64}));
  auto k = std::make_shared<torch::Tensor>(torch::randn({1, 8, 256, 64}));
  auto v = std::make_shared<torch::Tensor>(torch::randn({1, 8, 256, 64}));
  return [q, k, v] {
    return seconds_per_op(5, [&] {
      // softmax(q k^T / sqrt(d)) v, causal: the unfused path LibTorch's CPU attention takes.
      auto scores = torch::matmul(*q, k->transpose(-2, -1)) / 8.0;
      auto mask = torch::ones({256, 256}, torch::kBool).triu(1);
      (void)torch::matmul(torch::softmax(scores.masked_fill(mask, -INFINITY), -1), *v);
    });
  };
}

SampleFn layer_norm(const CaseContext&) {
  torch::manual_seed(2);
  auto x = std::make_shared<torch::Tensor>(torch::randn({2048, 1024}));
  auto w = std::make_shared<torch::Tensor>(torch::ones({1024}));
  auto b = std::make_shared<torch::Tensor>(torch::zeros({1024}));
  return [x, w, b] { return seconds_per_op(10, [&] { (void)torch::layer_norm(*x, {1024}, *w, *b); }); };
}

// ---- train -------------------------------------------------------------------------------------

struct TrainFixture {
  std::shared_ptr<engine::model::CausalLM> model;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  torch::Tensor ids, targets;

  TrainFixture() {
    model = engine::model::build_model(ds::bench::small_llama_spec(), {.dtype = torch::kFloat32, .seed = 3});
    model->train();
    optimizer = std::make_unique<torch::optim::AdamW>(model->parameters(), torch::optim::AdamWOptions(3e-4));
    auto generator = torch::make_generator<at::CPUGeneratorImpl>(4);
    auto tokens = torch::randint(0, 257, {2, 65}, generator, torch::kLong);
    ids = tokens.slice(1, 0, 64).contiguous();
    targets = tokens.slice(1, 1, 65).contiguous();
  }
  void step() {
    optimizer->zero_grad();
    auto loss = engine::model::next_token_loss(model->forward(ids), targets);
    loss.backward();
    optimizer->step();
  }
};

SampleFn train_step(const CaseContext&) {
  auto f = std::make_shared<TrainFixture>();
  return [f] { return seconds_per_op(1, [&] { f->step(); }); };
}

SampleFn train_peak_bytes(const CaseContext&) {
  using engine::train::MemoryTracker;
  MemoryTracker::install();
  const torch::Device cpu(torch::kCPU);
  return [cpu] {
    const std::int64_t before = MemoryTracker::current_bytes(cpu);
    TrainFixture f;
    f.step();  // creates the optimizer states
    MemoryTracker::reset_peak(cpu);
    f.step();
    return static_cast<double>(MemoryTracker::peak_bytes(cpu) - before);
  };
}

// A scratch directory with ds-tiny training data (fixed text, byte-tokenized), and this
// executable run on it as `ds` for the cases that go through whole commands.
class DsScratch {
 public:
  explicit DsScratch(const std::string& name) : name_(name) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw bench::CaseSkipped("cannot find this executable to start `ds` (" + ec.message() + ")");
    exe_ = self.string();
    dir_ = std::filesystem::temp_directory_path() / ("ds-bench-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::create_directories(dir_);
    // The same words, the same order every time.
    std::string text;
    std::uint32_t x = 7;
    static constexpr const char* kWords[] = {"model", "state", "shard", "rank", "step", "loss", "the", "of", "and"};
    while (text.size() < 64 * 1024) {
      x = x * 1664525u + 1013904223u;
      text += kWords[(x >> 24) % 9];
      text += ' ';
    }
    write_file_atomic(dir_ / "text.txt", text);
    run("data prepare --input '" + (dir_ / "text.txt").string() + "' --out '" + data().string() + "'");
  }
  ~DsScratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  DsScratch(const DsScratch&) = delete;
  DsScratch& operator=(const DsScratch&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path data() const { return dir_ / "train.bin"; }

  /// `ds -q --db <scratch db> ARGS`; returns its standard output. Throws RuntimeError with the
  /// tail of what it said when it fails.
  std::string run(const std::string& args) {
    const auto out = dir_ / "out.txt", log = dir_ / "log.txt";
    const std::string command = "'" + exe_ + "' -q --db '" + (dir_ / "ds.db").string() + "' " + args + " >'" +
                                out.string() + "' 2>'" + log.string() + "'";
    if (std::system(command.c_str()) != 0) {
      std::string tail = read_file(log);
      if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
      throw RuntimeError(format_error("ds bench: " + name_, "`ds " + args + "` failed", tail));
    }
    return read_file(out);
  }

 private:
  std::string name_;
  std::string exe_;
  std::filesystem::path dir_;
};

// ZeRO stage S on 2 local ranks through the real `ds train` (its own processes, Gloo), optionally
// with the optimizer offloaded to CPU memory: each run trains ds-tiny for a few steps and its
// later steps' times from rank 0's metrics.jsonl are the samples; the first steps (allocation,
// rendezvous) are warm-up.
class ZeroTraining {
 public:
  ZeroTraining(int stage, bool offload) : scratch_("zero" + std::to_string(stage) + (offload ? "-offload" : "")) {
    nlohmann::json zero = {{"stage", stage}};
    // ds-tiny's tensors are all under DeepSpeed's default persistence threshold (1e5), which
    // would keep every parameter whole: 0 measures the partitioned path stage 3 is about.
    if (stage == 3) zero["stage3_param_persistence_threshold"] = 0;
    if (offload) zero["offload_optimizer"] = {{"device", "cpu"}};
    write_file_atomic(config(), nlohmann::json{
        {"train_micro_batch_size_per_gpu", 2}, {"gradient_accumulation_steps", 1},
        {"optimizer", {{"type", "AdamW"}, {"params", {{"lr", 1e-3}}}}},
        {"zero_optimization", zero},
        {"ds", {{"model", "ds-tiny"}, {"seed", 42}}}}.dump());
  }

  /// Runs `ds train` once more and queues the step times after its warm-up steps.
  void train() {
    const auto out = scratch_.dir() / ("run" + std::to_string(runs_++));
    scratch_.run("train --config '" + config().string() + "' --data '" + scratch_.data().string() + "' --out '" +
                 out.string() + "' --steps " + std::to_string(kSteps) + " --seq 64 --nproc 2");
    std::ifstream metrics(out / "metrics.jsonl");
    std::string line;
    while (std::getline(metrics, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("step", 0) > kWarmupSteps && j.contains("step_time_s")) {
        pending_.push_back(j["step_time_s"].get<double>());
      }
    }
    if (pending_.empty()) throw RuntimeError(format_error((out / "metrics.jsonl").string(), "no step times"));
  }

  double next_step_time_s() {
    if (pending_.empty()) train();
    const double s = pending_.front();
    pending_.pop_front();
    return s;
  }

 private:
  static constexpr int kSteps = 13, kWarmupSteps = 3;  // 10 samples a run: enough for the rank test

  std::filesystem::path config() const { return scratch_.dir() / "config.json"; }

  DsScratch scratch_;
  std::deque<double> pending_;
  int runs_ = 0;
};

std::function<SampleFn(const CaseContext&)> zero_training(int stage, bool offload = false) {
  return [stage, offload](const CaseContext&) -> SampleFn {
    auto training = std::make_shared<ZeroTraining>(stage, offload);
    training->train();  // the first run is setup: its samples are then taken within the time cap
    return [training] { return training->next_step_time_s(); };
  };
}

// The tuner's regret on a grid it can measure here: ds-tiny on this CPU, 64-token sequences,
// 8 per step (micro-batch 1, 2, 4 or 8 with the accumulation to match) with and without
// activation checkpointing. `ds tune --measure` runs every plan of the grid (min of 5 timed steps
// each: contention only adds time) and the sample is the throughput its uncalibrated first choice
// gives up against the fastest (bench/tune_regret.hpp).
SampleFn tune_regret_case(const CaseContext&) {
  auto scratch = std::make_shared<DsScratch>("tune-regret");
  return [scratch] {
    const std::string out = scratch->run(
        "--json tune --model ds-tiny --seq 64 --gpu cpu-only --stages 0 --offload-optimizer none --offload-param none "
        "--micro-batch 1,2,4,8 --global-batch 8 --checkpointing none,full --dtype fp32 --bucket-sizes 5e8 --top 8 "
        "--measure 8 --explore 0 --measure-steps 6 --measure-stat min --device cpu --no-calibration --no-record "
        "--data '" + scratch->data().string() + "' --measure-dir '" + (scratch->dir() / "runs").string() + "'");
    const auto j = nlohmann::json::parse(out, nullptr, false);
    if (!j.is_object() || !j.contains("measured")) {
      throw RuntimeError(format_error("ds bench: tune-regret", "`ds tune --json` printed no \"measured\" section", out.substr(0, 400)));
    }
    return bench::tune_regret(j["measured"]);
  };
}

// ---- serve -------------------------------------------------------------------------------------

std::unique_ptr<engine::infer::InferenceEngine> make_engine(torch::ScalarType dtype) {
  engine::checkpoint::LoadedModel loaded;
  loaded.spec = ds::bench::small_llama_spec();
  loaded.model = engine::model::build_model(loaded.spec, {.dtype = dtype, .seed = 5});
  loaded.model->eval();
  engine::infer::EngineOptions options;
  options.max_running = 16;
  options.max_batch_tokens = 256;
  options.kv_cache_bytes = 64ll << 20;
  return std::make_unique<engine::infer::InferenceEngine>(
      std::move(loaded), std::make_shared<engine::tokenizer::ByteTokenizer>(), options);
}

engine::serve::GenerationRequest greedy_request(std::int64_t i, std::int64_t max_tokens) {
  engine::serve::GenerationRequest r;
  for (std::int64_t t = 0; t < 32; ++t) r.prompt.push_back(static_cast<std::uint32_t>((i * 31 + t * 7) % 256));
  r.sampling.temperature = 0.0;
  r.sampling.max_tokens = max_tokens;
  return r;
}

// Waits for the stream to finish; the generated ids in order.
std::vector<std::uint32_t> drain(engine::serve::RequestStream& stream) {
  std::vector<std::uint32_t> ids;
  for (;;) {
    auto u = stream.next(std::chrono::milliseconds(1000));
    if (!u) continue;
    for (const auto& t : u->tokens) ids.push_back(t.id);
    if (u->finish) return ids;
  }
}

// Decode tokens/s with `streams` requests of 16 greedy tokens in flight at once.
std::function<SampleFn(const CaseContext&)> decode_throughput(std::int64_t streams) {
  return [streams](const CaseContext&) -> SampleFn {
    std::shared_ptr<engine::infer::InferenceEngine> engine = make_engine(torch::kFloat32);
    return [engine, streams] {
      std::int64_t generated = 0;
      const double s = seconds_per_op(1, [&] {
        std::vector<std::shared_ptr<engine::serve::RequestStream>> running;
        for (std::int64_t i = 0; i < streams; ++i) running.push_back(engine->submit(greedy_request(i, 16)));
        for (auto& stream : running) generated += static_cast<std::int64_t>(drain(*stream).size());
      });
      return static_cast<double>(generated) / s;
    };
  };
}

// Per-request token arrival times of one batch of 4 streams: time to first token and the gaps
// between later tokens (an update may carry several tokens; they share its arrival time).
struct Latencies {
  std::vector<double> ttft_s, gaps_s;
};

Latencies serve_latencies(engine::infer::InferenceEngine& engine) {
  using Clock = std::chrono::steady_clock;
  constexpr int kStreams = 4;
  std::vector<std::shared_ptr<engine::serve::RequestStream>> running;
  for (int i = 0; i < kStreams; ++i) running.push_back(engine.submit(greedy_request(i, 16)));
  // One reader per stream, so each update is timed when it arrives, not when a single reader
  // gets round to it.
  std::vector<Latencies> per_stream(kStreams);
  std::vector<std::thread> readers;
  for (int i = 0; i < kStreams; ++i) {
    readers.emplace_back([&, i] {
      std::optional<Clock::time_point> last;
      for (;;) {
        auto u = running[i]->next(std::chrono::milliseconds(1000));
        if (!u) continue;
        const auto now = Clock::now();
        for (std::size_t t = 0; t < u->tokens.size(); ++t) {
          if (!last) per_stream[i].ttft_s.push_back(u->time_to_first_token_s);
          else per_stream[i].gaps_s.push_back(t == 0 ? std::chrono::duration<double>(now - *last).count() : 0.0);
          last = now;
        }
        if (u->finish) return;
      }
    });
  }
  for (auto& r : readers) r.join();
  Latencies out;
  for (const auto& l : per_stream) {
    out.ttft_s.insert(out.ttft_s.end(), l.ttft_s.begin(), l.ttft_s.end());
    out.gaps_s.insert(out.gaps_s.end(), l.gaps_s.begin(), l.gaps_s.end());
  }
  return out;
}

// serve/ttft, serve/itl-p50, serve/itl-p99: one statistic of one batch per sample.
std::function<SampleFn(const CaseContext&)> serve_latency(double quantile) {
  return [quantile](const CaseContext&) -> SampleFn {
    std::shared_ptr<engine::infer::InferenceEngine> engine = make_engine(torch::kFloat32);
    return [engine, quantile] {
      const Latencies l = serve_latencies(*engine);
      return quantile < 0 ? bench::mean(l.ttft_s) : bench::quantile(l.gaps_s, quantile);
    };
  };
}

SampleFn greedy_tokens(const CaseContext&) {
  return [] {
    // fp64, so the argmax at every step is the same on every machine and SIMD level.
    auto engine = make_engine(torch::kFloat64);
    const auto ids = drain(*engine->submit(greedy_request(0, 24)));
    // Polynomial hash of the ids, exact in a double (< 2^31).
    std::uint64_t hash = static_cast<std::uint64_t>(ids.size());
    for (auto id : ids) hash = (hash * 257 + id) % 2147483647ULL;
    return static_cast<double>(hash);
  };
}

}  // namespace

bool add_engine_bench_cases(bench::Registry& registry) {
  const std::pair<const char*, std::function<SampleFn(const CaseContext&)>> cases[] = {
      {"kernels/adam-cpu-16m", adam},
      {"kernels/gemm-fp32-512", gemm},
      {"kernels/attention-fp32", attention},
      {"kernels/layer-norm-fp32", layer_norm},
      {"train/step-small-llama", train_step},
      {"train/peak-bytes-small-llama", train_peak_bytes},
      {"train/zero1-2ranks-step", zero_training(1)},
      {"train/zero2-2ranks-step", zero_training(2)},
      {"train/zero3-2ranks-step", zero_training(3)},
      {"train/zero2-offload-2ranks-step", zero_training(2, true)},
      {"tune/regret-ds-tiny-grid", tune_regret_case},
      {"serve/greedy-tokens-small-llama", greedy_tokens},
      {"serve/decode-small-llama", decode_throughput(4)},
      {"serve/decode-small-llama-1stream", decode_throughput(1)},
      {"serve/decode-small-llama-16streams", decode_throughput(16)},
      {"serve/ttft-small-llama", serve_latency(-1)},
      {"serve/itl-p50-small-llama", serve_latency(0.5)},
      {"serve/itl-p99-small-llama", serve_latency(0.99)},
  };
  for (const auto& [name, prepare] : cases) registry.add_or_replace(real_case(registry, name, prepare));
  return true;
}

void hand_bench_to_engine(const GlobalOptions&) {
  throw RuntimeError(format_error("ds bench", "an engine case without its LibTorch implementation", "",
                                  "every name in bench/core_cases.cpp's register_engine_case_names to be "
                                  "registered by cli/bench_engine_cases.cpp"));
}

}  // namespace ds::cli
