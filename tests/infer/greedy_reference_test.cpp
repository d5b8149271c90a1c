// The engine's greedy continuation (paged KV cache, chunked prefill, batching) against an
// independent float64 forward in Python torch (tests/engine/reference/model_reference.py, driven
// by tests/infer/greedy_reference.py) over the same weights saved as safetensors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "engine/infer/inference_engine.hpp"
#include "engine/infer/kv_cache.hpp"
#include "engine/io/safetensors.hpp"
#include "tests/engine/train_test_util.hpp"
#include "tests/infer/tiny_models.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::engine::infer {
namespace {

nlohmann::json reference_config(const estimators::ModelSpec& s) {
  return {{"family", s.family == estimators::ModelFamily::kGpt2 ? "gpt2" : "llama"},
          {"config",
           {{"layers", s.layers}, {"heads", s.heads}, {"kv_heads", s.kv_heads}, {"head_dim", s.head_dim},
            {"norm_eps", s.norm_eps}, {"rope_theta", s.rope_theta}}}};
}

class GreedyReference : public ::testing::TestWithParam<std::string> {};

TEST_P(GreedyReference, EngineTokensEqualPythonFloat64Reference) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const auto spec = GetParam() == "llama" ? test::tiny_llama_spec() : test::tiny_gpt2_spec();
  auto model = test::tiny_model(spec, 23);
  model->eval();
  ds::test::ScratchDir dir("greedy-reference");
  std::vector<io::NamedTensor> tensors;
  for (const auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value().detach());
  io::save_safetensors(dir.path() / "model.safetensors", tensors);
  std::ofstream(dir.path() / "config.json") << reference_config(spec).dump();

  const std::vector<std::vector<std::uint32_t>> prompts = {{72, 101, 108, 108, 111}, {1, 2, 3, 200, 17, 9, 9, 40, 41, 42, 43}};
  constexpr std::int64_t kNew = 12;
  checkpoint::LoadedModel lm;
  lm.model = model;
  lm.spec = spec;
  EngineOptions o;
  o.block_size = 4;
  o.max_batch_tokens = 6;  // both prompts chunked, in one batch
  o.max_model_len = 64;
  o.kv_cache_bytes = 64 * kv_block_bytes(spec, 4, torch::kFloat64);
  InferenceEngine engine(lm, std::make_shared<tokenizer::ByteTokenizer>(), o);
  std::vector<std::shared_ptr<serve::RequestStream>> streams;
  for (const auto& p : prompts) {
    serve::GenerationRequest r;
    r.prompt = p;
    r.sampling.temperature = 0.0;
    r.sampling.max_tokens = kNew;
    streams.push_back(engine.submit(r));
  }
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::uint32_t> got;
    for (;;) {
      auto u = streams[i]->next(std::chrono::seconds(30));
      ASSERT_TRUE(u.has_value()) << "engine timed out";
      for (const auto& t : u->tokens) got.push_back(t.id);
      if (u->finish) break;
    }
    const std::filesystem::path script = std::filesystem::path(DS_SOURCE_DIR) / "tests/infer/greedy_reference.py";
    std::string args;
    for (const auto& p : {script, dir.path() / "model.safetensors", dir.path() / "config.json"}) {
      args.append("'").append(p.string()).append("' ");
    }
    args += std::to_string(kNew);
    for (auto id : prompts[i]) args.append(" ").append(std::to_string(id));
    const auto run = ds::test::run_program("/usr/bin/python3", args);
    if (run.code == ds::test::kPythonSkip) GTEST_SKIP() << run.output();
    ASSERT_EQ(run.code, 0) << run.output();
    std::vector<std::uint32_t> want;
    std::istringstream in(run.out);
    for (std::uint32_t id; in >> id;) want.push_back(id);
    EXPECT_EQ(got, want) << "prompt " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, GreedyReference, ::testing::Values("llama", "gpt2"));

}  // namespace
}  // namespace ds::engine::infer
