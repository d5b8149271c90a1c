// ZeRO stages 1-3 training on real Gloo ranks (this binary started N times by launch_local, each
// running ZeroRankWorker.Run) against one process, and stage 3's gathers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/launch/launcher.hpp"
#include "engine/train/memory_tracker.hpp"
#include "engine/train/trainer.hpp"
#include "engine/zero/zero_layout.hpp"
#include "engine/zero/zero_optimizer.hpp"
#include "tests/engine/tiny_run_util.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::zero {
namespace {

// One rank of a ZeroTraining case: trains, and rank 0 writes the losses; every rank writes the
// size of its partition and its measured memory.
TEST(ZeroRankWorker, Run) {
  const char* dir_env = std::getenv("DS_ZERO_TEST_DIR");
  if (!dir_env) GTEST_SKIP() << "helper: runs only as a rank started by ZeroTraining";
  const std::filesystem::path dir = dir_env;
  comm::Communicator comm(comm::options_from_environment());
  train::TrainerOptions o = test::tiny_options(dir / ("rank" + std::to_string(comm.rank())), std::getenv("DS_ZERO_CONFIG"),
                                               dir / "train.bin", comm.world_size());
  o.steps = 4;
  o.save_at_end = false;
  o.comm = &comm;
  // What building the model and the optimizer holds only while it runs.
  train::MemoryTracker::install();
  train::MemoryTracker::reset_peak(torch::kCPU);
  train::Trainer trainer(o);
  const std::int64_t transient = train::MemoryTracker::peak_bytes(torch::kCPU) - train::MemoryTracker::current_bytes(torch::kCPU);
  nlohmann::json losses = nlohmann::json::array();
  trainer.run([&](const train::StepMetrics& m) { losses.push_back(m.loss); });
  nlohmann::json out = {{"losses", losses}, {"memory", trainer.memory_categories()}, {"construction_transient", transient}};
  std::ofstream(dir / ("result" + std::to_string(comm.rank()) + ".json")) << out.dump();
  comm.barrier();
}

struct ZeroCase {
  int stage;
  int ranks;
  const char* dtype;  // "fp32" | "bf16"
  int accumulation;
  bool overlap = false;  // zero_optimization.overlap_comm
  bool clip = true;      // gradient_clipping 0.5, else none
  int offload = 0;       // zero_optimization.offload_optimizer.device: 0 none, 1 cpu, 2 nvme
  int offload_param = 0;  // zero_optimization.offload_param.device (stage 3): 0 none, 1 cpu, 2 nvme
  // stage3_param_persistence_threshold. ds-tiny's tensors all have at most 65,536 elements, so
  // DeepSpeed's default (1e5) would keep every one whole; the cases partition them (0) unless
  // they test persistence.
  std::int64_t persistence = 0;
  // offload_optimizer.ratio (with sub_group_size kSubGroup): below 1 the partition's first
  // int((1 - ratio) x sub-groups) stay on the device.
  double ratio = 1.0;
};

// NVMe cases stream Adam's states in sub-groups of this many elements (several per partition).
constexpr std::int64_t kSubGroup = 100000;

void PrintTo(const ZeroCase& c, std::ostream* os) {
  *os << "stage " << c.stage << ", " << c.ranks << " ranks, " << c.dtype << ", accumulation " << c.accumulation
      << (c.overlap ? ", overlap_comm" : "") << (c.clip ? "" : ", no clipping") << (c.offload == 1 ? ", offload cpu" : c.offload == 2 ? ", offload nvme" : "")
      << (c.offload_param == 1 ? ", offload_param cpu" : c.offload_param == 2 ? ", offload_param nvme" : "")
      << (c.persistence ? ", persistence threshold " + std::to_string(c.persistence) : "")
      << (c.ratio < 1 ? ", offload ratio " + std::to_string(c.ratio) : "");
}

std::string config_of(const ZeroCase& c, int micro_batch, const std::filesystem::path& nvme_path = {}) {
  nlohmann::json j = {{"train_micro_batch_size_per_gpu", micro_batch},
                      {"gradient_accumulation_steps", c.accumulation},
                      {"gradient_clipping", c.clip ? 0.5 : 0.0},
                      {"zero_optimization", {{"stage", c.stage}, {"reduce_bucket_size", 50000}, {"overlap_comm", c.overlap},
                                             {"stage3_param_persistence_threshold", c.persistence}}},
                      {"optimizer", {{"type", "AdamW"}, {"params", {{"lr", 0.003}, {"weight_decay", 0.01}}}}}};
  if (std::string(c.dtype) == "bf16") j["bf16"] = {{"enabled", true}};
  if (c.offload == 1) j["zero_optimization"]["offload_optimizer"] = {{"device", "cpu"}};
  if (c.offload == 2) {
    j["zero_optimization"]["offload_optimizer"] = {{"device", "nvme"}, {"nvme_path", nvme_path.string()}};
    j["zero_optimization"]["sub_group_size"] = kSubGroup;
  }
  if (c.ratio < 1) {
    j["zero_optimization"]["offload_optimizer"]["ratio"] = c.ratio;
    j["zero_optimization"]["sub_group_size"] = kSubGroup;
  }
  if (c.offload_param == 1) j["zero_optimization"]["offload_param"] = {{"device", "cpu"}};
  if (c.offload_param == 2) {
    j["zero_optimization"]["offload_param"] = {{"device", "nvme"}, {"nvme_path", nvme_path.string()}, {"buffer_count", 3}};
  }
  return j.dump();
}

class ZeroTraining : public testing::TestWithParam<ZeroCase> {};

// Stages 0-3 (stage 0: all-reduced gradients, nothing partitioned, so no memory check), with and
// without clipping and accumulation. The same 8 windows per step, split over N ranks, must give
// one process's loss trajectory up to
// the order of floating-point sums. fp32: 2e-5 relative after 4 AdamW steps with clipping. bf16:
// the model's weights and activations are bf16 (8-bit mantissa), and stage 1 accumulates
// micro-batch gradients in the model dtype as DeepSpeed does: 2e-3 relative.
TEST_P(ZeroTraining, MatchesOneProcess) {
  const ZeroCase c = GetParam();
  test::ScratchDir dir("zero");
  const std::filesystem::path data = test::write_tokens(dir.path());
  const int per_rank = 8 / c.accumulation / c.ranks;
  std::vector<double> expected;
  {
    ZeroCase one = c;
    one.stage = 0;
    one.offload = 0;
    one.offload_param = 0;
    one.ratio = 1;
    train::TrainerOptions o = test::tiny_options(dir.path(), config_of(one, per_rank * c.ranks), data);
    o.steps = 4;
    o.save_at_end = false;
    train::Trainer trainer(o);
    trainer.run([&](const train::StepMetrics& m) { expected.push_back(m.loss); });
  }
  launch::LaunchOptions options;
  options.command = {std::filesystem::read_symlink("/proc/self/exe").string(), "--gtest_filter=ZeroRankWorker.Run"};
  options.nproc = c.ranks;
  options.env = {{"DS_ZERO_TEST_DIR", dir.path().string()},
                 {"DS_ZERO_CONFIG", config_of(c, per_rank, dir.path())},
                 {"DS_TIMEOUT", "120"},
                 {"OMP_NUM_THREADS", "1"}};
  std::mutex mutex;
  std::vector<std::string> lines;
  options.on_line = [&](size_t, launch::Stream, const std::string& line) {
    std::lock_guard lock(mutex);
    lines.push_back(line);
  };
  launch::launch_local(options);
  auto result = [&](int r) {
    std::ifstream in(dir.path() / ("result" + std::to_string(r) + ".json"));
    return nlohmann::json::parse(in);
  };
  const nlohmann::json r0 = result(0);
  std::vector<double> got = r0["losses"].get<std::vector<double>>();
  ASSERT_EQ(got.size(), expected.size());
  const double tolerance = std::string(c.dtype) == "bf16" ? 2e-3 : 2e-5;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tolerance * expected[i]) << "step " << i + 1;
  }
  // Memory: what the optimizer allocates beyond the model's own fp32 parameters (1,049,728 of
  // them, Ψ). Every rank keeps 1/N of the fp32 master, gradient, exp_avg and exp_avg_sq (16 Ψ/N
  // bytes). The model's parameters move into a flat buffer of the model dtype (bf16: 2 Ψ replace
  // 4 Ψ), and stage 1 also keeps a whole model-dtype gradient buffer.
  const double params = 1'049'728.0;
  const bool bf16 = std::string(c.dtype) == "bf16";
  // Stage 3 never builds the whole model (placeholder parameters, each rank keeping its pieces of
  // the initial values), and keeps its chunk of the parameters in the model dtype. (In fp32 that
  // chunk is the master itself, unless the master is offloaded.) With offload_param the chunk is
  // in host memory.
  const double chunk_bytes = bf16 || c.offload_param ? (bf16 ? 2 : 4) : (c.offload ? 4 : 0);
  // Persistent parameters (stage3_param_persistence_threshold) stay whole on every rank besides:
  // the 9 norms of 128 under 1280, everything under 1e5.
  const double persistent = c.persistence >= 65'536 ? params : c.persistence >= 128 ? 9 * 128 : 0;
  const double flat_change = c.stage == 3 ? (c.offload_param ? 0 : chunk_bytes * params / c.ranks) +
                                                (bf16 ? 2 : 4) * persistent
                                          : (bf16 ? -2 * params : 0);
  // One rank keeps its whole model-dtype gradient buffer at every stage (nothing to partition),
  // except at stage 3 with offload_param or partial offload, which run ZeRO-3 over a group of one.
  const bool zero3_alone = c.offload_param || c.ratio < 1;
  const double whole_grads = c.stage == 1 || (c.ranks == 1 && !zero3_alone) ? (bf16 ? 2 : 4) * params : 0;
  // Offloaded, the fp32 master, gradient partition and Adam states (16 Ψ/N) are in host memory;
  // with NVMe, Adam's states (8 Ψ/N) are in swap files, streamed through 2 sets of 2 buffers of
  // a sub-group (rounded to whole 4 KiB blocks).
  const double states = 16 * params / c.ranks;
  // Partial offload keeps whole sub-groups of the partition on the device (master, gradient and
  // Adam states): int((1 - ratio) x sub-groups) of them, as DeepSpeed counts.
  const double kept = c.ratio < 1 ? std::floor((1 - c.ratio) * std::ceil(params / c.ranks / kSubGroup)) * kSubGroup : 0;
  const double moved = c.offload ? states - 16 * kept : 0;
  const double expected_bytes = flat_change + whole_grads + (c.offload ? 16 * kept : states);
  const double swap_buffers = 2 * 2 * (kSubGroup + 352) * 4.0;
  // offload_param nvme: each bucket's chunk (a block: 246,016 parameters; the rest: 65,664)
  // from a 4 KiB boundary of the swap file, read through 3 buffers of the largest chunk.
  auto blocks_of = [&](double n) { return std::ceil(std::ceil(n / c.ranks) * (bf16 ? 2 : 4) / 4096) * 4096; };
  // (Persistent norms move out of them into a chunk of their own.)
  const bool norms = persistent == 9 * 128;
  const double block = norms ? 246'016 - 256 : 246'016, rest = norms ? 65'664 - 128 : 65'664;
  const double param_file = 4 * blocks_of(block) + blocks_of(rest) + (norms ? blocks_of(persistent) : 0);
  const double host = (c.offload == 2 ? moved / 2 + swap_buffers : c.offload == 1 ? moved : 0) +
                      (c.offload_param == 1 ? chunk_bytes * params / c.ranks : 0) +
                      (c.offload_param == 2 ? 3 * blocks_of(block) : 0);
  const double nvme = (c.offload == 2 ? moved / 2 : 0) + (c.offload_param == 2 ? param_file : 0);
  for (int r = 0; r < c.ranks && c.stage > 0; ++r) {
    const nlohmann::json rank_result = result(r);
    const nlohmann::json& memory = rank_result["memory"];
    EXPECT_NEAR(memory["grads_master_optimizer_states"].get<double>(), expected_bytes, 0.02 * states) << "rank " << r;
    if (c.offload || c.offload_param) {
      EXPECT_NEAR(memory["offload_cpu_peak"].get<double>(), host, 0.02 * states) << "rank " << r;
    } else {
      EXPECT_FALSE(memory.contains("offload_cpu_peak"));
    }
    if (nvme > 0) EXPECT_NEAR(memory["offload_nvme_peak"].get<double>(), nvme, 0.02 * states) << "rank " << r;
    else EXPECT_FALSE(memory.contains("offload_nvme_peak"));
    // ZeRO-3: no rank ever held the whole model (4 Ψ in fp32) while starting, only one initial
    // value at a time (the largest, the embedding, is 65,536 parameters: 0.0625 of the model),
    // besides the all-gather of the persistent parameters (Gloo gathers through a buffer of its own).
    if (c.stage == 3) {
      EXPECT_LT(rank_result["construction_transient"].get<double>(), 0.1 * 4 * params + (bf16 ? 2 : 4) * persistent)
          << "rank " << r;
    }
  }
  // A clean exit leaves no swap files behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_NE(entry.path().filename().string().rfind("ds-swap-", 0), 0u) << entry.path();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ZeroTraining,
                         testing::Values(ZeroCase{1, 2, "fp32", 1}, ZeroCase{2, 2, "fp32", 1}, ZeroCase{1, 2, "fp32", 2},
                                         ZeroCase{2, 2, "fp32", 2}, ZeroCase{2, 2, "fp32", 2, true}, ZeroCase{2, 4, "fp32", 2}, ZeroCase{1, 2, "bf16", 2},
                                         ZeroCase{2, 2, "bf16", 2}, ZeroCase{3, 2, "fp32", 2},
                                         ZeroCase{3, 4, "fp32", 1}, ZeroCase{3, 2, "bf16", 2},
                                         ZeroCase{3, 2, "fp32", 2, true}, ZeroCase{0, 2, "bf16", 2},
                                         ZeroCase{0, 4, "fp32", 1, false, false}, ZeroCase{2, 2, "fp32", 2, false, false},
                                         ZeroCase{3, 2, "bf16", 1, false, false},
                                         // ZeRO-Offload: optimizer in host memory, CPU Adam kernel.
                                         ZeroCase{1, 2, "fp32", 2, false, true, true}, ZeroCase{2, 2, "fp32", 1, true, true, true},
                                         ZeroCase{2, 2, "bf16", 2, false, true, true}, ZeroCase{3, 2, "fp32", 2, false, true, true},
                                         ZeroCase{3, 2, "bf16", 1, false, true, true}, ZeroCase{2, 1, "fp32", 2, false, true, true},
                                         // ZeRO-Infinity: Adam's states on NVMe (swap files in the test's directory).
                                         ZeroCase{2, 2, "fp32", 2, false, true, 2}, ZeroCase{3, 2, "bf16", 1, false, true, 2},
                                         ZeroCase{1, 2, "fp32", 1, false, true, 2}, ZeroCase{2, 1, "bf16", 2, false, true, 2},
                                         // ZeRO-3 parameter partitions in host memory, with and without the optimizer.
                                         ZeroCase{3, 2, "bf16", 2, false, true, 1, 1}, ZeroCase{3, 2, "fp32", 1, false, true, 0, 1},
                                         // ZeRO-Infinity: the parameter chunks on NVMe, read ahead block by block.
                                         ZeroCase{3, 2, "bf16", 2, false, true, 2, 2}, ZeroCase{3, 2, "fp32", 1, false, true, 0, 2},
                                         ZeroCase{3, 2, "bf16", 1, true, true, 1, 2},
                                         // One rank (DeepSpeed's single-GPU ZeRO-Infinity): ZeRO-3 over a group of one.
                                         ZeroCase{3, 1, "bf16", 2, false, true, 1, 1}, ZeroCase{3, 1, "fp32", 1, false, true, 0, 2},
                                         // Persistent parameters: the norms (HF's "auto", 10 x hidden), then all of them.
                                         ZeroCase{3, 2, "bf16", 2, false, true, 0, 0, 1280}, ZeroCase{3, 2, "fp32", 1, true, true, 0, 0, 100000},
                                         ZeroCase{3, 2, "bf16", 1, false, true, 1, 2, 1280},
                                         // Partial offload (ratio < 1): the first sub-groups stay on the device.
                                         ZeroCase{3, 2, "bf16", 2, false, true, 1, 0, 0, 0.5},
                                         ZeroCase{3, 1, "fp32", 1, false, true, 1, 0, 0, 0.5},
                                         ZeroCase{3, 2, "fp32", 1, false, true, 2, 1, 0, 0.6}),
                         [](const testing::TestParamInfo<ZeroCase>& info) {
                           const ZeroCase& c = info.param;
                           return "stage" + std::to_string(c.stage) + "_" + std::to_string(c.ranks) + "ranks_" + c.dtype +
                                  "_accum" + std::to_string(c.accumulation) + (c.overlap ? "_overlap" : "") +
                                  (c.clip ? "" : "_noclip") + (c.offload == 1 ? "_offload" : c.offload == 2 ? "_nvme" : "") + (c.offload_param == 1 ? "_paramoffload" : c.offload_param == 2 ? "_paramnvme" : "") +
                                  (c.persistence ? "_persist" + std::to_string(c.persistence) : "") +
                                  (c.ratio < 1 ? "_ratio" + std::to_string(static_cast<int>(c.ratio * 100)) : "");
                         });

}  // namespace
}  // namespace ds::engine::zero

namespace ds::engine::zero {
namespace {

// Stage 3's buckets: the rest, one per block (a block may have none left), the persistent ones
// last. Over a group of one: the rest and a block are fetched for their use and dropped after;
// the persistent parameters are whole from construction on, stay so between blocks and are
// fetched again with the new values after a step.
// Prefetch: while block i runs, block i+1's bucket is gathered (in backward, block i-1's), so of
// 3 blocks every gather but the first of backward finds its bucket already there; within the
// limits only, and with the same update as without it.
TEST(ZeroStage3, PrefetchGathersTheNextBlockWhileOneRuns) {
  auto run = [](std::int64_t prefetch, std::int64_t max_live, std::int64_t* hits) {
    torch::manual_seed(2);
    torch::Tensor rest = torch::randn({10}).requires_grad_();
    std::vector<torch::Tensor> blocks;
    for (int i = 0; i < 3; ++i) blocks.push_back(torch::randn({20}).requires_grad_());
    comm::Communicator one(comm::CommOptions{});
    ZeroOptions z;
    z.stage = 3;
    z.bucket_slots = {1, 1, 1, 1};
    z.prefetch_bucket_size = prefetch;
    z.max_live_parameters = max_live;
    ZeroOptimizer opt({{"rest", rest}, {"b0", blocks[0]}, {"b1", blocks[1]}, {"b2", blocks[2]}}, train::OptimizerOptions{},
                      train::MixedPrecisionOptions{.precision = train::Precision::kFp32}, one, z);
    for (int micro = 0; micro < 2; ++micro) {
      opt.begin_forward();
      torch::Tensor h = (rest * rest).sum().reshape({1});
      for (int i = 0; i < 3; ++i) {
        opt.before_block(i);
        EXPECT_EQ(blocks[i].numel(), 20);
        h = opt.after_block(i, h + (blocks[i] * blocks[i]).sum() * (i + 1));
        EXPECT_EQ(blocks[i].numel(), 0);
      }
      opt.end_forward();
      h.sum().backward();
      opt.accumulate_grads();
    }
    EXPECT_FALSE(opt.step(0.1).skipped);
    *hits = opt.prefetch_hits();
    EXPECT_TRUE(opt.model_state(/*keep=*/false).empty()) << "a rank that does not write the weights keeps none";
    return opt.model_state();
  };
  std::int64_t hits = 0;
  const auto plain = run(0, 1'000'000, &hits);
  EXPECT_EQ(hits, 0);
  const auto prefetched = run(20, 1'000'000, &hits);
  // Per micro-batch: the 3 blocks of forward, then 2 of backward's 3 (the last block's comes first).
  EXPECT_EQ(hits, 2 * 5);
  ASSERT_EQ(prefetched.size(), plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(torch::equal(prefetched[i].second, plain[i].second)) << prefetched[i].first;
  }
  run(19, 1'000'000, &hits);
  EXPECT_EQ(hits, 0) << "a block larger than stage3_prefetch_bucket_size";
  run(20, 29, &hits);
  EXPECT_EQ(hits, 0) << "the rest and one block exceed stage3_max_live_parameters";
  // The rest and two blocks do: only the first block, fetched beside the rest alone, is ahead.
  run(20, 49, &hits);
  EXPECT_EQ(hits, 2 * 1);
  run(20, 50, &hits);
  EXPECT_EQ(hits, 2 * 5);
}

TEST(ZeroStage3, PersistentParametersStayWholeWhileBlocksComeAndGo) {
  torch::manual_seed(1);
  torch::Tensor rest = torch::randn({10}).requires_grad_(), block = torch::randn({20}).requires_grad_(),
                small = torch::randn({5}).requires_grad_();
  const torch::Tensor small_before = small.detach().clone(), block_before = block.detach().clone();
  comm::Communicator one(comm::CommOptions{});
  ZeroOptions z;
  z.stage = 3;
  z.bucket_slots = {1, 1, 0, 1};  // the rest, block 0, block 1 (all persistent), the persistent bucket
  z.persistent_bucket = true;
  ZeroOptimizer opt({{"rest", rest}, {"block", block}, {"small", small}}, train::OptimizerOptions{},
                    train::MixedPrecisionOptions{.precision = train::Precision::kFp32}, one, z);
  EXPECT_EQ(rest.numel(), 0);
  EXPECT_EQ(block.numel(), 0);
  ASSERT_EQ(small.numel(), 5);
  EXPECT_TRUE(torch::equal(small.detach(), small_before));

  opt.begin_forward();
  opt.before_block(0);
  ASSERT_EQ(block.numel(), 20);
  EXPECT_TRUE(torch::equal(block.detach(), block_before));
  torch::Tensor out = (rest.sum() + block.sum() + small.sum()).reshape({1});
  out = opt.after_block(0, out);
  EXPECT_EQ(block.numel(), 0) << "a block's parameters are dropped after it ran";
  opt.before_block(1);  // a block with nothing of its own: no bucket, nothing to fetch
  opt.after_block(1, out);
  EXPECT_EQ(rest.numel(), 10);
  EXPECT_EQ(small.numel(), 5);
  out.sum().backward();  // the hook fetches block 0 again for its backward
  opt.accumulate_grads();
  train::StepResult result = opt.step(0.1);
  EXPECT_FALSE(result.skipped);
  EXPECT_EQ(rest.numel(), 0) << "the rest is dropped once its gradients are reduced";
  ASSERT_EQ(small.numel(), 5) << "the persistent parameters are fetched again after the step";
  EXPECT_FALSE(torch::equal(small.detach(), small_before)) << "with the updated values";
}

}  // namespace
}  // namespace ds::engine::zero
