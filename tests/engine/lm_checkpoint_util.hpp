// Helpers for tests that need a real language-model checkpoint or token file: a tiny CausalLM
// trained a few steps and saved the way the trainer saves it, and token files of known ids.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "engine/checkpoint/checkpoint.hpp"
#include "engine/data/token_writer.hpp"
#include "engine/io/hf_config_writer.hpp"
#include "engine/model/causal_lm.hpp"
#include "engine/train/mixed_precision.hpp"
#include "estimators/presets.hpp"

namespace ds::test {

/// ds-tiny (Llama family, GQA, tied embeddings, 512-token vocabulary, 128 positions).
inline estimators::ModelSpec tiny_spec() { return estimators::find_model_preset("ds-tiny")->spec; }

/// `count` ids drawn from [0, vocab) with a fixed seed.
inline std::vector<std::uint32_t> random_ids(std::int64_t count, std::int64_t vocab, std::uint64_t seed = 7) {
  torch::manual_seed(seed);
  torch::Tensor t = torch::randint(vocab, {count}, torch::kLong);
  std::vector<std::uint32_t> out(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) out[i] = static_cast<std::uint32_t>(t[i].item<std::int64_t>());
  return out;
}

/// Writes `ids` as an llm.c token file (with sidecar) whose vocabulary is `vocab`.
inline void write_tokens(const std::filesystem::path& path, const std::vector<std::uint32_t>& ids, std::int64_t vocab) {
  engine::data::TokenFileMeta meta;
  meta.vocab_size = vocab;
  meta.tokenizer = "test";
  engine::data::write_token_file(path, std::span<const std::uint32_t>(ids), meta);
}

/// A model trained `steps` AdamW steps in `precision` on random windows, and the optimizer that
/// owns its parameters (bf16/fp16 keep fp32 masters there).
struct TrainedLm {
  std::shared_ptr<engine::model::CausalLM> model;
  std::unique_ptr<engine::train::MixedPrecisionOptimizer> optimizer;
};

inline TrainedLm train_lm(const estimators::ModelSpec& spec, engine::train::Precision precision, int steps) {
  using namespace engine::train;
  TrainedLm out;
  out.model = engine::model::build_model(spec, {.seed = 11});
  std::vector<NamedTensor> params;
  for (auto& p : out.model->named_parameters()) params.emplace_back(p.key(), p.value());
  out.optimizer = std::make_unique<MixedPrecisionOptimizer>(std::vector<ParamGroupSpec>{{params, std::nullopt}},
                                                            OptimizerOptions{}, MixedPrecisionOptions{.precision = precision});
  torch::manual_seed(5);
  for (int i = 0; i < steps; ++i) {
    torch::Tensor ids = torch::randint(spec.vocab, {2, 33}, torch::kLong);
    torch::Tensor logits = out.model->forward(ids.narrow(1, 0, 32));
    (engine::model::next_token_loss(logits, ids.narrow(1, 1, 32)) * out.optimizer->loss_scale()).backward();
    out.optimizer->step(1e-2);
  }
  return out;
}

/// Saves `lm` into `dir` as the trainer does (model, optimizer states with masters, config.json
/// of `spec` as model_config.json unless `with_model_config` is false); returns DIR/<tag>.
inline std::filesystem::path save_lm(const std::filesystem::path& dir, const TrainedLm& lm,
                                     const estimators::ModelSpec& spec, std::int64_t step,
                                     bool with_model_config = true) {
  engine::checkpoint::CheckpointState s;
  s.model = lm.optimizer->model_state();
  s.optimizer = lm.optimizer->optimizer_state_tensors();
  s.optimizer_meta = lm.optimizer->optimizer_state_meta();
  if (with_model_config) s.model_config = engine::io::hf_config_json(spec);
  s.metadata.step = step;
  s.metadata.tokens = step * 64;
  s.metadata.precision = engine::train::to_string(lm.optimizer->precision());
  return engine::checkpoint::save_checkpoint(dir, s);
}

}  // namespace ds::test
