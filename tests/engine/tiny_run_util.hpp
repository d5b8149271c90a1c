// A structured token file and resolved TrainerOptions for ds-tiny runs, shared by the trainer and
// ZeRO tests.
#pragma once
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/data/token_writer.hpp"
#include "engine/train/train_setup.hpp"

namespace ds::test {

/// A token stream with structure a tiny model picks up within a hundred steps: a fixed random
/// phrase of 61 tokens (vocabulary 64) repeated, with 10% of the tokens replaced by noise.
inline std::filesystem::path write_tokens(const std::filesystem::path& dir, std::int64_t count = 40000) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint32_t> token(0, 63);
  std::vector<std::uint32_t> phrase(61);
  for (auto& t : phrase) t = token(rng);
  std::vector<std::uint32_t> tokens;
  std::bernoulli_distribution noise(0.1);
  for (std::int64_t i = 0; i < count; ++i) tokens.push_back(noise(rng) ? token(rng) : phrase[i % phrase.size()]);
  engine::data::TokenFileMeta meta;
  meta.vocab_size = 64;
  meta.tokenizer = "test";
  auto path = dir / "train.bin";
  engine::data::TokenFileWriter writer(path, meta);
  writer.append(tokens);
  writer.commit();
  return path;
}

/// ds-tiny at seq 32, 10 steps, micro-batch 4 unless the config sets a batch size, data from
/// `data` (write_tokens into `dir` when empty), run directory dir/run, on the CPU.
inline engine::train::TrainerOptions tiny_options(const std::filesystem::path& dir, const std::string& config_json = "{}",
                                                  std::filesystem::path data = {}, int world_size = 1) {
  engine::train::TrainSetup setup;
  std::filesystem::create_directories(dir);
  auto config_path = dir / ("ds_config." + std::to_string(::getpid()) + ".json");
  std::ofstream(config_path) << config_json;
  setup.config_path = config_path;
  setup.device = "cpu";
  setup.world_size = world_size;
  if (data.empty()) data = write_tokens(dir);
  setup.overrides = {{"ds.data", "\"" + data.string() + "\""},
                     {"ds.run_dir", "\"" + (dir / "run").string() + "\""},
                     {"ds.seq_len", "32"},
                     {"ds.steps", "10"}};
  if (config_json.find("batch_size") == std::string::npos) {
    setup.overrides.push_back({"train_micro_batch_size_per_gpu", "4"});
  }
  return engine::train::make_trainer_options(setup);
}

}  // namespace ds::test
