// Each model's forward against an independent float64 implementation in Python
// (tests/engine/reference/model_reference.py), from the same weights dumped by this test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "engine/model/causal_lm.hpp"
#include "estimators/presets.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::model {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string name;
  estimators::ModelSpec spec;
  bool custom_positions = false;
};

std::vector<Case> cases() {
  auto tiny = estimators::find_model_preset("ds-tiny")->spec;  // Llama, GQA 4 query / 2 kv heads, tied
  tiny.layers = 2;
  auto scaled = tiny;  // Llama-3 rope scaling with a short original context, so all three bands occur
  scaled.rope_scaling = {"llama3", 8.0, 1.0, 4.0, 64};
  scaled.tied_embeddings = false;
  auto qwen = tiny;  // q/k/v biases, untied head, head_dim != hidden / heads, rope_theta 1e6
  qwen.family = estimators::ModelFamily::kQwen2;
  qwen.qkv_bias = true;
  qwen.head_dim = 48;
  qwen.rope_theta = 1e6;
  auto small = estimators::find_model_preset("ds-small")->spec;  // GPT-2 layout
  small.layers = 2;
  return {{"llama_gqa", tiny, false}, {"llama3_scaling", scaled, true}, {"qwen2_bias", qwen, false},
          {"gpt2", small, true}};
}

void write_tensor(const fs::path& dir, const std::string& file, const torch::Tensor& t, nlohmann::json& entry) {
  auto c = t.contiguous().cpu();
  std::ofstream out(dir / file, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
  entry = {{"shape", t.sizes().vec()}, {"file", file}};
}

nlohmann::json config_json(const estimators::ModelSpec& s) {
  return {{"layers", s.layers},       {"heads", s.heads},
          {"kv_heads", s.kv_heads},   {"head_dim", s.head_dim},
          {"norm_eps", s.norm_eps},   {"rope_theta", s.rope_theta},
          {"rope_scaling", {{"type", s.rope_scaling.type}, {"factor", s.rope_scaling.factor},
                            {"low_freq_factor", s.rope_scaling.low_freq_factor},
                            {"high_freq_factor", s.rope_scaling.high_freq_factor},
                            {"original_max_position_embeddings", s.rope_scaling.original_max_position_embeddings}}}};
}

struct Dumped {
  torch::Tensor logits64;  ///< ds forward in float64
  torch::Tensor logits32;  ///< ds forward in float32 (same weights rounded to fp32)
  double loss64 = 0;
};

Dumped dump_case(const Case& c, const fs::path& dir) {
  fs::create_directories(dir);
  auto model32 = build_model(c.spec, {.seed = 5});
  auto model64 = build_model(c.spec, {.seed = 5});
  model64->to(torch::kFloat64);
  torch::manual_seed(1);
  auto ids = torch::randint(0, c.spec.vocab, {2, 24}, torch::kLong);
  auto targets = torch::randint(0, c.spec.vocab, {2, 24}, torch::kLong);
  auto positions = c.custom_positions ? torch::arange(40, 64, torch::kLong) : torch::Tensor();
  nlohmann::json man;
  man["family"] = c.spec.family == estimators::ModelFamily::kGpt2 ? "gpt2" : "llama";
  man["config"] = config_json(c.spec);
  int n = 0;
  for (const auto& p : model64->named_parameters()) {
    write_tensor(dir, "p" + std::to_string(n++) + ".f64", p.value(), man["tensors"][p.key()]);
  }
  write_tensor(dir, "ids.i64", ids, man["input_ids"]);
  write_tensor(dir, "targets.i64", targets, man["targets"]);
  if (positions.defined()) write_tensor(dir, "positions.i64", positions, man["positions"]);
  write_file_atomic(dir / "manifest.json", man.dump(1));
  torch::NoGradGuard no_grad;
  Dumped d;
  d.logits64 = model64->forward(ids, positions);
  d.logits32 = model32->forward(ids, positions);
  d.loss64 = next_token_loss(d.logits64, targets).item<double>();
  return d;
}

torch::Tensor read_logits(const fs::path& file, const torch::Tensor& like) {
  std::string bytes = read_file(file);
  EXPECT_EQ(bytes.size(), static_cast<std::size_t>(like.nbytes()));
  return torch::from_blob(bytes.data(), like.sizes(), torch::kFloat64).clone();
}

TEST(ModelReference, ForwardMatchesFloat64Reference) {
  test::ScratchDir scratch("model-reference");
  const fs::path& root = scratch.path();
  std::vector<Dumped> dumped;
  std::string dirs;
  for (const auto& c : cases()) {
    dumped.push_back(dump_case(c, root / c.name));
    dirs += " '" + (root / c.name).string() + "'";
  }
  DS_RUN_REFERENCE_OR_SKIP(out, "model_reference.py", dirs);
  (void)out;  // results come back in files
  auto all = cases();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto dir = root / all[i].name;
    auto ref = read_logits(dir / "logits.f64", dumped[i].logits64);
    const double scale = ref.abs().max().item<double>();
    const double err64 = (dumped[i].logits64 - ref).abs().max().item<double>() / scale;
    const double err32 = (dumped[i].logits32.to(torch::kFloat64) - ref).abs().max().item<double>() / scale;
    EXPECT_LT(err64, 1e-12) << all[i].name;
    EXPECT_LT(err32, 1e-5) << all[i].name;
    auto result = nlohmann::json::parse(read_file(dir / "result.json"));
    EXPECT_NEAR(dumped[i].loss64, result["loss"].get<double>(), 1e-12) << all[i].name;
  }
}

}  // namespace
}  // namespace ds::engine::model
