// A ZeRO fragment checkpoint resumes one process at stage 0 exactly as the equivalent flat
// checkpoint does, and exports the same fp32 weights.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/export_hf.hpp"
#include "engine/checkpoint/param_states.hpp"
#include "engine/io/safetensors.hpp"
#include "engine/train/mixed_precision.hpp"
#include "tests/engine/train_test_util.hpp"
#include "tests/engine/zero_checkpoint_util.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ds::engine::train;

struct Case {
  Precision precision;
  UpdateRule rule;
};

struct TrainRun {
  torch::nn::Sequential net;
  std::unique_ptr<MixedPrecisionOptimizer> opt;
};

/// A small MLP in two parameter groups (weights with decay, biases without).
TrainRun make_run(std::uint64_t seed, const Case& c) {
  torch::manual_seed(seed);
  TrainRun r{torch::nn::Sequential(torch::nn::Linear(6, 12), torch::nn::GELU(), torch::nn::Linear(12, 3)), nullptr};
  std::vector<NamedTensor> weights, biases;
  for (auto& p : r.net->named_parameters()) {
    (p.key().find("bias") != std::string::npos ? biases : weights).emplace_back("model." + p.key(), p.value());
  }
  OptimizerOptions o{.rule = c.rule, .weight_decay = 0.01, .momentum = c.rule == UpdateRule::kSgd ? 0.9 : 0.0};
  r.opt = std::make_unique<MixedPrecisionOptimizer>(std::vector<ParamGroupSpec>{{weights, std::nullopt}, {biases, 0.0}},
                                                    o, MixedPrecisionOptions{.precision = c.precision, .gradient_clipping = 1.0});
  return r;
}

void train(TrainRun& r, int steps, std::uint64_t data_seed, Precision precision) {
  torch::manual_seed(data_seed);
  for (int i = 0; i < steps; ++i) {
    torch::Tensor x = torch::randn({5, 6}).to(scalar_type_of(precision)), y = torch::randn({5, 3});
    torch::mse_loss(r.net->forward(x).to(torch::kFloat), y).backward();
    r.opt->step(1e-2);
  }
}

CheckpointState pieces_of(const MixedPrecisionOptimizer& opt) {
  CheckpointState s;
  s.model = opt.model_state();
  s.model_config = {{"model_type", "llama"}, {"hidden_size", 12}};
  s.metadata.step = 3;
  s.metadata.precision = to_string(opt.precision());
  return s;
}

/// What a partitioned optimizer on `world` ranks at `stage` would save for `opt`'s state.
fs::path save_zero(const fs::path& dir, const MixedPrecisionOptimizer& opt, int world, int stage) {
  const json flat_meta = opt.optimizer_state_meta();
  fs::path tmp = prepare_shared_save(dir, checkpoint_tag(3));
  test::write_shards(tmp, opt.optimizer_state_tensors(), flat_meta["layouts"], world, stage);
  CheckpointState s = pieces_of(opt);
  s.optimizer_meta = test::zero_meta(flat_meta, world, stage);
  s.metadata.world_size = world;
  s.metadata.zero_stage = stage;
  return save_checkpoint(dir, s, {.prepared_dir = tmp});
}

void expect_same(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first) << what;
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << what << ": " << a[i].first;
  }
}

// Save after 3 steps as stage 0 and as ZeRO on 3 ranks (stage 2) and 2 ranks (stage 1); resume
// each into a fresh optimizer and run 2 more steps: all bitwise equal the uninterrupted run.
TEST(CheckpointZeroResume, FragmentCheckpointResumesLikeTheFlatOne) {
  for (Case c : {Case{Precision::kBf16, UpdateRule::kAdamW}, Case{Precision::kFp32, UpdateRule::kAdamW},
                 Case{Precision::kBf16, UpdateRule::kSgd}}) {
    SCOPED_TRACE(to_string(c.precision) + " " + to_string(c.rule));
    test::ScratchDir dir("zero-resume");
    TrainRun first = make_run(1, c);
    train(first, 3, 77, c.precision);
    CheckpointState flat = pieces_of(*first.opt);
    flat.optimizer = first.opt->optimizer_state_tensors();
    flat.optimizer_meta = first.opt->optimizer_state_meta();
    save_checkpoint(dir.path() / "flat", flat);
    save_zero(dir.path() / "zero3", *first.opt, 3, 2);
    save_zero(dir.path() / "zero2", *first.opt, 2, 1);
    train(first, 2, 88, c.precision);

    std::vector<std::unique_ptr<TrainRun>> resumed;
    for (const char* sub : {"flat", "zero3", "zero2"}) {
      SCOPED_TRACE(sub);
      const fs::path d = dir.path() / sub;
      CheckpointState l = load_checkpoint(d);
      auto r = std::make_unique<TrainRun>(make_run(2, c));  // other initial weights: all must come from the checkpoint
      r->opt->load_model_state({l.model.begin(), l.model.end()}, "model.safetensors");
      if (std::string(sub) == "flat") {
        r->opt->load_optimizer_state(l.optimizer_meta, {l.optimizer.begin(), l.optimizer.end()}, "optimizer.safetensors");
      } else {
        r->opt->load_optimizer_state(l.optimizer_meta, ParamStates::open(d / l.metadata.tag, l), "trainer_state.json");
      }
      train(*r, 2, 88, c.precision);
      auto want = first.net->parameters(), got = r->net->parameters();
      for (std::size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(torch::equal(want[i], got[i])) << i;
      expect_same(r->opt->optimizer_state_tensors(), first.opt->optimizer_state_tensors(), "optimizer states");
      EXPECT_EQ(r->opt->optimizer().step_count(1), 5);
      resumed.push_back(std::move(r));
    }
  }
}

TEST(CheckpointZeroResume, ExportOfAFragmentCheckpointEqualsTheMasters) {
  test::ScratchDir dir("zero-export");
  TrainRun run = make_run(3, {Precision::kBf16, UpdateRule::kAdamW});
  train(run, 3, 5, Precision::kBf16);
  fs::path ckpt = save_zero(dir.path() / "ckpt", *run.opt, 3, 2);
  ExportResult r = export_hf(dir.path() / "ckpt", dir.path() / "hf");
  EXPECT_TRUE(r.from_fp32_master);
  EXPECT_EQ(r.tensors, 4);
  io::SafetensorsReader reader(dir.path() / "hf");
  std::map<std::string, torch::Tensor> masters;
  auto meta = run.opt->optimizer_state_meta();
  for (const auto& [name, t] : run.opt->optimizer_state_tensors()) {
    if (name.size() < 7 || name.substr(name.size() - 7) != ".master") continue;
    const std::size_t g = std::stoul(name.substr(5));
    for (auto& [param, view] : FlatLayout::from_json(meta["layouts"][g], "test").unpack(t)) masters[param] = view;
  }
  ASSERT_EQ(masters.size(), 4u);
  for (const auto& [name, master] : masters) {
    torch::Tensor w = reader.tensor(name);
    EXPECT_EQ(w.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(w, master)) << name;
  }
  // The weights-only overload cannot see the shards and says so.
  CheckpointState state = load_checkpoint(dir.path() / "ckpt");
  try {
    checkpoint_weights(state, (ckpt / "trainer_state.json").string());
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), (ckpt / "trainer_state.json").string() +
                                         ": a ZeRO checkpoint: its fp32 masters are in the per-rank shard files; hint: "
                                         "read it with checkpoint_weights(state, ParamStates::open(DIR/<tag>, state))");
  }
}

TEST(CheckpointZeroResume, AnotherOptimizersFragmentsAreRefusedBeforeAnythingIsOverwritten) {
  test::ScratchDir dir("zero-refuse");
  TrainRun adam = make_run(4, {Precision::kBf16, UpdateRule::kAdamW});
  train(adam, 1, 5, Precision::kBf16);
  fs::path ckpt = save_zero(dir.path(), *adam.opt, 2, 2);
  TrainRun sgd = make_run(4, {Precision::kBf16, UpdateRule::kSgd});
  auto before = sgd.opt->optimizer_state_tensors();
  std::vector<torch::Tensor> copies;
  for (auto& [name, t] : before) copies.push_back(t.clone());
  CheckpointState l = load_checkpoint(dir.path());
  try {
    sgd.opt->load_optimizer_state(l.optimizer_meta, ParamStates::open(ckpt, l), "trainer_state.json");
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "trainer_state.json: optimizer state saved by another optimizer (got \"AdamW\"); "
                                     "expected \"SGD\"");
  }
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i].second, copies[i]));
}

}  // namespace
}  // namespace ds::engine::checkpoint
