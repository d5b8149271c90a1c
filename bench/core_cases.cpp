#include "bench/core_cases.hpp"

#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/bench_case.hpp"
#include "autotune/tune_options.hpp"
#include "autotune/tuner.hpp"
#include "bench/runner.hpp"
#include "configs/config_io.hpp"
#include "engine/tokenizer/byte_level.hpp"
#include "engine/tokenizer/hf_tokenizer.hpp"
#include "estimators/estimate_options.hpp"
#include "estimators/estimate_table.hpp"
#include "estimators/memory_estimate.hpp"
#include "profiles/store.hpp"
#include "profiles/trials.hpp"

namespace ds::bench {
namespace {

// ---- estimate suite -------------------------------------------------------------------------

struct EstimateInputs {
  estimators::ModelSpec model;
  profiles::ClusterSpec cluster;
  estimators::Plan plan;
};

// Llama 2 7B on one node of 8 H100-80G, bf16 AdamW, micro-batch 1 at 4096 tokens, ZeRO-3.
EstimateInputs llama_7b_zero3() {
  EstimateInputs in;
  estimators::ModelOptions model;
  model.model = "llama-2-7b";
  in.model = estimators::resolve_model(model);
  in.cluster = estimators::resolve_cluster(estimators::ClusterOptions{});
  estimators::PlanOptions plan;
  plan.stage = 3;
  in.plan = estimators::resolve_plan(plan, in.model, in.cluster);
  return in;
}

// Mean |predicted - measured| / measured peak bytes over the stored trials that have both.
double estimator_error(const std::string& db_path) {
  if (db_path.empty()) throw CaseSkipped("no database");
  profiles::Store store(db_path);
  double sum = 0;
  int n = 0;
  for (const auto& t : profiles::list_trials(store)) {
    if (!t.predicted_peak_bytes || !t.measured_peak_bytes || *t.measured_peak_bytes <= 0) continue;
    sum += std::fabs(static_cast<double>(*t.predicted_peak_bytes - *t.measured_peak_bytes)) /
           static_cast<double>(*t.measured_peak_bytes);
    ++n;
  }
  if (n == 0) throw CaseSkipped("no stored trials with predicted and measured peak memory (run `ds train` first)");
  return sum / n;
}

void register_estimate(Registry& r) {
  r.add({"estimate", "estimate/memory-table-llama-2-7b", "ds estimate memory's stage/offload table for Llama 2 7B on 8 H100",
         Kind::kTime, "s", 0, 0, false, [](const CaseContext&) -> SampleFn {
           auto in = std::make_shared<EstimateInputs>(llama_7b_zero3());
           return [in] {
             return seconds_per_op(20, [&] { (void)estimators::estimate_table(in->model, in->cluster, in->plan); });
           };
         }});
  r.add({"estimate", "estimate/peak-bytes-llama-2-7b-zero3",
         "predicted device peak of Llama 2 7B, ZeRO-3, bf16, micro-batch 1 x 4096 on 8 H100 (exact)", Kind::kBytes,
         "bytes", 0, 1, false, [](const CaseContext&) -> SampleFn {
           return [] {
             const auto in = llama_7b_zero3();
             return estimators::estimate_memory(in.model, in.cluster, in.plan).device_peak_bytes;
           };
         }});
  r.add({"estimate", "estimate/error-vs-measured",
         "mean |predicted - measured| / measured peak memory over stored ds train trials (within 0.005)",
         Kind::kAccuracy, "rel error", 0.005, 1, false, [](const CaseContext& context) -> SampleFn {
           const double error = estimator_error(context.db_path);  // skips here, before sampling
           return [error] { return error; };
         }});
}

// ---- core suite: config parsing and tokenizer -----------------------------------------------

constexpr const char* kZero3Config = R"({
  "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 8, "gradient_clipping": 1.0,
  "bf16": {"enabled": true},
  "optimizer": {"type": "AdamW", "params": {"lr": 3e-4, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1}},
  "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": 0, "warmup_max_lr": 3e-4,
                "warmup_num_steps": 2000, "total_num_steps": 100000}},
  "zero_optimization": {"stage": 3, "overlap_comm": true, "contiguous_gradients": true,
    "reduce_bucket_size": 500000000, "stage3_prefetch_bucket_size": 50000000,
    "stage3_param_persistence_threshold": 100000, "stage3_max_live_parameters": 1000000000,
    "offload_optimizer": {"device": "cpu", "pin_memory": true}},
  "activation_checkpointing": {"partition_activations": true, "contiguous_memory_optimization": false},
  "steps_per_print": 100, "wall_clock_breakdown": false
})";

// Deterministic English-like text: words drawn by a fixed-seed LCG (Knuth's MMIX constants).
std::string fixed_text(std::size_t bytes) {
  static constexpr const char* kWords[] = {
      "the", "model", "training", "memory", "gradient", "optimizer", "state", "partition", "shard", "token",
      "attention", "layer", "hidden", "batch", "sequence", "parameter", "offload", "pipeline", "tensor", "parallel",
      "stage", "bucket", "reduce", "gather", "checkpoint", "activation", "loss", "scale", "step", "rank",
      "of", "and", "to", "in", "a", "is", "for", "with", "on", "by"};
  constexpr std::size_t kCount = sizeof kWords / sizeof kWords[0];
  std::uint64_t state = 42;
  std::string text;
  while (text.size() < bytes) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    text += kWords[(state >> 33) % kCount];
    text += (state >> 20) % 11 == 0 ? ". " : " ";
  }
  return text;
}

// A byte-level BPE tokenizer.json trained on `text` with `merges` greedy merges over its
// space-prefixed words (as GPT-2's pre-tokenizer splits them).
std::string trained_tokenizer_json(const std::string& text, int merges) {
  using Word = std::vector<std::string>;
  std::map<Word, int> words;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(' ', start + 1);
    if (end == std::string::npos) end = text.size();
    Word w;
    for (std::size_t i = start; i < end; ++i) w.emplace_back(engine::tokenizer::byte_to_unicode(static_cast<unsigned char>(text[i])));
    ++words[w];
    start = end;
  }
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[std::string(engine::tokenizer::byte_to_unicode(static_cast<unsigned char>(b)))] = b;
  nlohmann::json merge_list = nlohmann::json::array();
  for (int m = 0; m < merges; ++m) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [w, count] : words) {
      for (std::size_t i = 0; i + 1 < w.size(); ++i) pairs[{w[i], w[i + 1]}] += count;
    }
    if (pairs.empty()) break;
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (it->second > best->second) best = it;  // ties: the first in lexicographic order
    }
    const auto [a, b] = best->first;
    merge_list.push_back(a + " " + b);
    if (!vocab.contains(a + b)) vocab[a + b] = static_cast<int>(vocab.size());
    std::map<Word, int> merged;
    for (const auto& [w, count] : words) {
      Word out;
      for (std::size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          out.push_back(a + b);
          ++i;
        } else {
          out.push_back(w[i]);
        }
      }
      merged[out] += count;
    }
    words = std::move(merged);
  }
  nlohmann::json doc = {
      {"version", "1.0"},
      {"added_tokens", nlohmann::json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}},
  };
  return doc.dump();
}

struct TokenizerFixture {
  std::string text = fixed_text(64 * 1024);
  std::unique_ptr<engine::tokenizer::Tokenizer> tokenizer =
      engine::tokenizer::parse_tokenizer_json(trained_tokenizer_json(fixed_text(8 * 1024), 200), "bench-bpe");
};

void register_core(Registry& r) {
  r.add({"core", "core/config-parse-zero3", "parse and validate a DeepSpeed ZeRO-3 JSON config", Kind::kTime, "s", 0, 0,
         false, [](const CaseContext&) -> SampleFn {
           return [] { return seconds_per_op(50, [] { (void)configs::parse_config_json(kZero3Config, "zero3.json"); }); };
         }});
  r.add({"core", "core/tokenizer-encode-bpe", "byte-level BPE encode of 64 KiB of text (200 merges)",
         Kind::kThroughput, "tokens/s", 0, 0, false, [](const CaseContext&) -> SampleFn {
           auto f = std::make_shared<TokenizerFixture>();
           return [f] {
             std::vector<std::uint32_t> ids;
             const double s = seconds_per_op(1, [&] { f->tokenizer->encode(f->text, ids); });
             return static_cast<double>(ids.size()) / s;
           };
         }});
  r.add({"core", "core/tokenizer-token-count", "tokens of the same 64 KiB text (exact: a change means other ids)",
         Kind::kAccuracy, "tokens", 0, 1, false, [](const CaseContext&) -> SampleFn {
           auto f = std::make_shared<TokenizerFixture>();
           return [f] { return static_cast<double>(f->tokenizer->encode(f->text).size()); };
         }});
}

// ---- tune suite ------------------------------------------------------------------------------

void register_tune(Registry& r) {
  r.add({"tune", "tune/plans-per-s-llama-2-7b",
         "ds tune's default search for Llama 2 7B on 8 H100: candidate plans estimated and ranked per second",
         Kind::kThroughput, "plans/s", 0, 0, false, [](const CaseContext&) -> SampleFn {
           auto in = std::make_shared<EstimateInputs>(llama_7b_zero3());
           auto options = std::make_shared<autotune::TuneOptions>(
               autotune::resolve_tune_options(autotune::SearchFlags{}, in->model, in->cluster));
           return [in, options] {
             std::int64_t plans = 0;
             const double s = seconds_per_op(1, [&] { plans = autotune::tune(in->model, in->cluster, *options).candidates; });
             return static_cast<double>(plans) / s;
           };
         }});
}

}  // namespace

void register_core_cases(Registry& registry) {
  register_estimate(registry);
  register_core(registry);
  register_tune(registry);
}

void register_engine_case_names(Registry& r) {
  auto engine_case = [&r](const char* suite, const char* name, const char* description, Kind kind, const char* unit,
                   double tolerance = 0) {
    BenchCase c;
    c.suite = suite;
    c.name = name;
    c.description = description;
    c.kind = kind;
    c.unit = unit;
    c.tolerance = tolerance;
    c.max_samples = kind == Kind::kTime || kind == Kind::kThroughput ? 0 : 1;
    c.needs_engine = true;
    r.add(std::move(c));
  };
  engine_case("kernels", "kernels/adam-cpu-16m", "ds's SIMD CPU AdamW step over 16M fp32 parameters (ZeRO-Offload's optimizer)",
       Kind::kThroughput, "params/s");
  engine_case("kernels", "kernels/gemm-fp32-512", "LibTorch fp32 matrix product 512x512x512 on the CPU", Kind::kTime, "s");
  engine_case("kernels", "kernels/attention-fp32", "causal attention (unfused), 8 heads x 256 tokens x 64, fp32 CPU",
       Kind::kTime, "s");
  engine_case("kernels", "kernels/layer-norm-fp32", "layer norm of 2048 x 1024 fp32 on the CPU", Kind::kTime, "s");
  engine_case("train", "train/step-small-llama",
       "one AdamW step of a small Llama (4 layers x 256, GQA), batch 2 x 64 tokens, fp32, 1 rank, CPU", Kind::kTime,
       "s");
  engine_case("train", "train/peak-bytes-small-llama",
       "peak tensor bytes of such a step after the first (counting allocator; exact)", Kind::kBytes, "bytes");
  for (const char* stage : {"1", "2", "3"}) {
    engine_case("train", (std::string("train/zero") + stage + "-2ranks-step").c_str(),
         (std::string("optimizer step of ds-tiny (micro-batch 2 x 64 tokens) through `ds train --nproc 2`, ZeRO-") +
          stage + ", Gloo on the CPU; steps 4-13 of each run")
             .c_str(),
         Kind::kTime, "s");
  }
  engine_case("train", "train/zero2-offload-2ranks-step",
       "the ZeRO-2 step with offload_optimizer cpu (fp32 master, gradients and Adam states in host memory, "
       "CPU Adam kernel)",
       Kind::kTime, "s");
  engine_case("tune", "tune/regret-ds-tiny-grid",
       "throughput ds tune's first choice gives up against the fastest of 8 plans it measures (ds-tiny, CPU: "
       "micro-batch 1-8 at 8 sequences a step, checkpointing none/full); 0 = it chose the fastest",
       Kind::kAccuracy, "regret", 0.1);
  engine_case("serve", "serve/greedy-tokens-small-llama",
       "24 greedy tokens of the same model in fp64 through the inference engine: hash of the ids (exact)",
       Kind::kAccuracy, "hash");
  engine_case("serve", "serve/decode-small-llama",
       "inference engine: 4 streams x 16 greedy tokens after 32-token prompts, fp32 CPU", Kind::kThroughput,
       "tokens/s");
  engine_case("serve", "serve/decode-small-llama-1stream", "the same with one stream at a time", Kind::kThroughput,
       "tokens/s");
  engine_case("serve", "serve/decode-small-llama-16streams", "the same with 16 streams at once", Kind::kThroughput,
       "tokens/s");
  engine_case("serve", "serve/ttft-small-llama", "time to first token, mean over those 4 streams", Kind::kTime, "s");
  engine_case("serve", "serve/itl-p50-small-llama", "median inter-token latency over those 4 streams", Kind::kTime, "s");
  engine_case("serve", "serve/itl-p99-small-llama", "99th-percentile inter-token latency over those 4 streams", Kind::kTime,
       "s");
}

}  // namespace ds::bench
