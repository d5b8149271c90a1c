#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/train/lr_schedules.hpp"
#include "engine/train/mixed_precision.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

CheckpointState sample_state(std::int64_t step) {
  torch::manual_seed(step);
  CheckpointState s;
  s.model = {{"model.embed_tokens.weight", torch::randn({10, 4}).to(torch::kBFloat16)},
             {"model.norm.weight", torch::randn({4})}};
  s.optimizer = {{"group0.exp_avg", torch::randn({44})}, {"group0.master", torch::randn({44})}};
  s.optimizer_meta = {{"precision", "bf16"}, {"groups", {{{"step", step}}}}};
  s.scheduler = {{"type", "WarmupLR"}, {"last_batch_iteration", step - 1}};
  s.loss_scaler = {{"cur_scale", 65536.0}};
  s.sampler = {{"seed", 7}, {"step", step * 2}};
  s.rng = capture_torch_rng();
  std::mt19937_64 engine(99);
  engine.discard(5);
  s.rng.std_rng = std_rng_state(engine);
  s.config_json = R"({"train_micro_batch_size_per_gpu": 2})";
  s.model_config = {{"model_type", "llama"}, {"hidden_size", 4}};
  s.metadata = {.step = step, .tokens = step * 1024, .world_size = 1, .zero_stage = 0, .precision = "bf16"};
  return s;
}

void expect_same_tensors(const std::vector<NamedTensor>& got, const std::vector<NamedTensor>& want) {
  std::map<std::string, torch::Tensor> g(got.begin(), got.end());
  ASSERT_EQ(g.size(), want.size());
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(g.count(name)) << name;
    EXPECT_EQ(g[name].scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(g[name], t)) << name;
  }
}

TEST(CheckpointRoundTrip, EveryPieceComesBackBitwise) {
  test::ScratchDir dir("ckpt-rt");
  CheckpointState saved = sample_state(12);
  fs::path where = save_checkpoint(dir.path(), saved);
  EXPECT_EQ(where, dir.path() / "global_step12");
  EXPECT_EQ(latest_tag(dir.path()), "global_step12");
  for (const char* f : {"metadata.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json",
                        "rng.safetensors", "ds_config.json", "model_config.json"}) {
    EXPECT_TRUE(fs::exists(where / f)) << f;
  }
  CheckpointState got = load_checkpoint(dir.path());
  expect_same_tensors(got.model, saved.model);
  expect_same_tensors(got.optimizer, saved.optimizer);
  EXPECT_EQ(got.optimizer_meta, saved.optimizer_meta);
  EXPECT_EQ(got.scheduler, saved.scheduler);
  EXPECT_EQ(got.loss_scaler, saved.loss_scaler);
  EXPECT_EQ(got.sampler, saved.sampler);
  EXPECT_TRUE(torch::equal(got.rng.torch_cpu, saved.rng.torch_cpu));
  EXPECT_EQ(got.rng.std_rng, saved.rng.std_rng);
  std::mt19937_64 a(99), b;
  a.discard(5);
  restore_std_rng(b, got.rng.std_rng);
  EXPECT_EQ(a(), b());
  EXPECT_EQ(got.config_json, saved.config_json);
  EXPECT_EQ(got.model_config, saved.model_config);
  EXPECT_EQ(got.metadata.step, 12);
  EXPECT_EQ(got.metadata.tokens, 12 * 1024);
  EXPECT_EQ(got.metadata.precision, "bf16");
  EXPECT_EQ(got.metadata.tag, "global_step12");
  EXPECT_FALSE(got.metadata.ds_version.empty());
}

TEST(CheckpointRoundTrip, TorchRngRestoreRepeatsTheStream) {
  torch::manual_seed(5);
  torch::randn({3});
  RngState s = capture_torch_rng();
  torch::Tensor first = torch::randn({8});
  torch::randn({100});
  restore_torch_rng(s);
  EXPECT_TRUE(torch::equal(torch::randn({8}), first));
}

// N steps, save, resume into a fresh model and optimizer, M steps == N + M steps straight,
// bitwise, with the data drawn from the torch RNG so its state matters too.
TEST(CheckpointRoundTrip, ResumeIsBitwiseExact) {
  using namespace ds::engine::train;
  configs::SchedulerConfig sched;
  sched.type = configs::SchedulerType::kWarmupLR;
  sched.params.warmup_num_steps = 4;
  struct Run {
    torch::nn::Sequential model;
    std::unique_ptr<MixedPrecisionOptimizer> opt;
    std::unique_ptr<LRSchedule> lr;
  };
  auto make = [&](std::uint64_t seed) {
    torch::manual_seed(seed);
    Run r{torch::nn::Sequential(torch::nn::Linear(6, 12), torch::nn::GELU(), torch::nn::Linear(12, 3)), nullptr, nullptr};
    std::vector<NamedTensor> params;
    for (auto& p : r.model->named_parameters()) params.emplace_back(p.key(), p.value());
    r.opt = std::make_unique<MixedPrecisionOptimizer>(
        std::vector<ParamGroupSpec>{{params, std::nullopt}}, OptimizerOptions{.weight_decay = 0.01},
        MixedPrecisionOptions{.precision = Precision::kBf16, .gradient_clipping = 1.0});
    r.lr = make_lr_schedule(sched, 1e-2);
    return r;
  };
  auto train = [](Run& r, int steps) {
    for (int i = 0; i < steps; ++i) {
      torch::Tensor x = torch::randn({5, 6}).to(torch::kBFloat16), y = torch::randn({5, 3});
      torch::mse_loss(r.model->forward(x).to(torch::kFloat), y).backward();
      if (!r.opt->step(r.lr->lr()).skipped) r.lr->step();
    }
  };
  Run straight = make(1);
  torch::manual_seed(77);
  train(straight, 7);

  test::ScratchDir dir("ckpt-resume");
  Run first = make(1);
  torch::manual_seed(77);
  train(first, 3);
  CheckpointState s;
  s.model = first.opt->model_state();
  s.optimizer = first.opt->optimizer_state_tensors();
  s.optimizer_meta = first.opt->optimizer_state_meta();
  s.scheduler = first.lr->state_dict();
  s.loss_scaler = first.opt->loss_scaler().state_dict();
  s.rng = capture_torch_rng();
  s.metadata.step = 3;
  save_checkpoint(dir.path(), s);
  torch::manual_seed(12345);  // disturb the generator: the checkpoint must restore it

  Run resumed = make(2);  // other initial weights: all must come from the checkpoint
  CheckpointState l = load_checkpoint(dir.path());
  resumed.opt->load_model_state({l.model.begin(), l.model.end()}, "model.safetensors");
  resumed.opt->load_optimizer_state(l.optimizer_meta, {l.optimizer.begin(), l.optimizer.end()}, "optimizer.safetensors");
  resumed.lr->load_state_dict(l.scheduler);
  resumed.opt->loss_scaler().load_state_dict(l.loss_scaler);
  restore_torch_rng(l.rng);
  train(resumed, 4);
  auto a = straight.model->parameters(), b = resumed.model->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
  EXPECT_EQ(straight.lr->last_batch_iteration(), resumed.lr->last_batch_iteration());
}

TEST(CheckpointRoundTrip, SameTagIsReplacedAtomicallyAndOldOnesPruned) {
  test::ScratchDir dir("ckpt-replace");
  save_checkpoint(dir.path(), sample_state(1), {.tag = "best"});
  save_checkpoint(dir.path(), sample_state(2), {.tag = "best"});
  EXPECT_EQ(load_checkpoint(dir.path()).metadata.step, 2);
  for (int step = 3; step <= 6; ++step) save_checkpoint(dir.path(), sample_state(step), {.keep_last = 2});
  EXPECT_EQ(list_checkpoints(dir.path()), (std::vector<std::string>{"global_step5", "global_step6"}));
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_NE(e.path().filename().string().rfind(".tmp", 0), 0u) << e.path();
  }
  EXPECT_EQ(load_checkpoint(dir.path(), {.tag = "global_step5"}).metadata.step, 5);
}

TEST(CheckpointRoundTrip, StaleTemporariesOfDeadSavesAreRemoved) {
  test::ScratchDir dir("ckpt-stale");
  save_checkpoint(dir.path(), sample_state(1));
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  fs::create_directories(dir.path() / (".tmp-global_step2-" + std::to_string(dead)));
  fs::create_directories(dir.path() / (".tmp-global_step3-" + std::to_string(::getppid())));  // alive
  std::ofstream(dir.path() / ("latest.tmp." + std::to_string(dead))) << "global_step9";
  EXPECT_EQ(load_checkpoint(dir.path()).metadata.step, 1);
  EXPECT_FALSE(fs::exists(dir.path() / (".tmp-global_step2-" + std::to_string(dead))));
  EXPECT_FALSE(fs::exists(dir.path() / ("latest.tmp." + std::to_string(dead))));
  EXPECT_TRUE(fs::exists(dir.path() / (".tmp-global_step3-" + std::to_string(::getppid()))));
}

std::string load_error(const fs::path& dir, const LoadOptions& options = {}) {
  try {
    load_checkpoint(dir, options);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CheckpointRoundTrip, MissingAndCorruptPiecesGetClearErrors) {
  test::ScratchDir dir("ckpt-errors");
  const fs::path d = dir.path();
  const std::string ds = d.string();
  EXPECT_EQ(load_error(d / "nope"), ds + "/nope: no such checkpoint directory");
  EXPECT_EQ(load_error(d), ds + ": no 'latest' file; hint: no checkpoint has been saved here");
  save_checkpoint(d, sample_state(4));
  save_checkpoint(d, sample_state(8));
  fs::remove(d / "latest");
  EXPECT_EQ(load_error(d),
            ds + ": no 'latest' file; hint: pass a tag explicitly; complete checkpoints here: global_step4, global_step8");
  write_file_atomic(d / "latest", "global_step9");
  EXPECT_EQ(load_error(d), ds + "/global_step9: checkpoint directory missing; hint: 'latest' names it; the directory "
                                "was moved or deleted");
  write_file_atomic(d / "latest", "../etc");
  EXPECT_EQ(load_error(d), ds + "/latest: not a usable checkpoint tag (got \"../etc\"); expected a plain directory name "
                                "such as global_step1000 (no '/', spaces or leading '.')");
  write_file_atomic(d / "latest", "global_step8\n");
  EXPECT_EQ(load_checkpoint(d).metadata.step, 8);

  const fs::path c = d / "global_step8";
  auto fresh = [&] { save_checkpoint(d, sample_state(8)); };  // same tag: replaced, latest rewritten
  fs::resize_file(c / "optimizer.safetensors", fs::file_size(c / "optimizer.safetensors") - 3);
  auto size = fs::file_size(c / "optimizer.safetensors");
  EXPECT_EQ(load_error(d), (c / "optimizer.safetensors").string() + ": has the wrong size (got " + std::to_string(size) +
                               " bytes); expected " + std::to_string(size + 3) +
                               " bytes (metadata.json); hint: the file is truncated or was replaced");
  fresh();
  fs::remove(c / "rng.safetensors");
  EXPECT_EQ(load_error(d), (c / "rng.safetensors").string() + ": missing; hint: the checkpoint is incomplete; load an "
                                                               "older tag");
  fresh();
  json meta = json::parse(read_file(c / "metadata.json"));
  meta["format_version"] = 99;
  write_file_atomic(c / "metadata.json", meta.dump());
  EXPECT_EQ(load_error(d), c.string() + ": written by a newer ds (got format 99); expected format <= 1; hint: upgrade "
                                        "ds to load it");
  write_file_atomic(c / "metadata.json", "{\"step\": ");
  EXPECT_EQ(load_error(d).rfind((c / "metadata.json").string() + ": not valid JSON (got ", 0), 0u);
  fs::remove(c / "metadata.json");
  EXPECT_EQ(load_error(d), (c / "metadata.json").string() + ": missing; hint: the checkpoint is incomplete; load an "
                                                             "older tag");
  // A broken model file is caught by the strict safetensors reader.
  const fs::path c4 = d / "global_step4";
  std::fstream f(c4 / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(8);
  f.write("[", 1);
  f.close();
  EXPECT_EQ(load_error(d, {.tag = "global_step4"}), (c4 / "model.safetensors").string() + ": header does not start with '{'");
  try {
    save_checkpoint(d, sample_state(1), {.tag = "a/b"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "checkpoint tag: not a usable checkpoint tag (got \"a/b\"); expected a plain directory name "
                           "such as global_step1000 (no '/', spaces or leading '.')");
  }
}

}  // namespace
}  // namespace ds::engine::checkpoint
