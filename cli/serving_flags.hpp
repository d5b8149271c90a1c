#pragma once
// The flags `ds serve` and `ds generate` share: which model, how it is loaded, how big the KV
// cache and the batches are. Header-only so each subcommand stays one file.
#include <CLI/CLI.hpp>

#include <string>

#include "common/units.hpp"
#include "engine/infer/serving_setup.hpp"

namespace ds::cli {

struct ServingFlags {
  engine::infer::ServingOptions options;
  std::string kv_cache_mem;  ///< "2GiB"; "" = a fraction of free memory
};

inline void add_serving_flags(CLI::App* sub, ServingFlags& f) {
  auto& o = f.options;
  sub->add_option("--model,model", o.model, "Hugging Face model directory (config.json + safetensors) or ds checkpoint")
      ->required();
  sub->add_option("--tokenizer", o.tokenizer, "tokenizer.json, its directory, or 'byte' (default: the model's own)");
  sub->add_option("--dtype", o.dtype, "auto (bf16 on GPU, fp32 on CPU), fp32, bf16 or fp16")->capture_default_str();
  sub->add_option("--device", o.device, "auto, cpu or cuda")->capture_default_str();
  sub->add_option("--tag", o.tag, "ds checkpoints: the tag to load (default: latest)");
  sub->add_option("--kv-cache-mem", f.kv_cache_mem, "KV cache size, e.g. 2GiB (default: 30% of free memory)");
  sub->add_option("--block-size", o.engine.block_size, "tokens per KV-cache block")->capture_default_str();
  sub->add_option("--max-batch-tokens", o.engine.max_batch_tokens,
                  "tokens per forward pass: decodes first, then prompt chunks (Dynamic SplitFuse)")
      ->capture_default_str();
  sub->add_option("--max-running", o.engine.max_running, "sequences decoding at once")->capture_default_str();
  sub->add_option("--max-model-len", o.engine.max_model_len, "prompt + completion tokens (default: the model's)");
}

/// Turns the parsed flags into the options open_serving takes.
inline engine::infer::ServingOptions serving_options(const ServingFlags& f) {
  auto o = f.options;
  if (!f.kv_cache_mem.empty()) o.engine.kv_cache_bytes = static_cast<std::int64_t>(parse_bytes(f.kv_cache_mem, "--kv-cache-mem"));
  return o;
}

}  // namespace ds::cli
