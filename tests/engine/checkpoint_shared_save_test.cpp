// The multi-rank save protocol: rank 0 prepares the temporary directory, every rank writes its
// shard into it, rank 0 installs it; `latest` changes only at the end. Ranks are forked processes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/param_states.hpp"
#include "engine/checkpoint/zero_fragments.hpp"
#include "tests/engine/train_test_util.hpp"
#include "tests/engine/zero_checkpoint_util.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kWorld = 3;

/// One group of two parameters and its Adam states, as a stage-0 optimizer would hold them.
struct ShardedRun {
  train::FlatLayout layout{std::vector<NamedTensor>{{"w", torch::empty({4, 6})}, {"b", torch::empty({5})}}};
  std::vector<NamedTensor> flat{{"group0.master", torch::randn({29})}, {"group0.exp_avg", torch::randn({29})},
                                {"group0.exp_avg_sq", torch::rand({29})}};
  json flat_meta{{"precision", "bf16"},
                 {"optimizer", {{"rule", "AdamW"}, {"groups", {{{"step", 5}}}}}},
                 {"layouts", {layout.to_json()}}};

  CheckpointState zero_state(std::int64_t step) const {
    CheckpointState s;
    s.model = {{"w", flat[0].second.narrow(0, 0, 24).view({4, 6}).to(torch::kBFloat16)},
               {"b", flat[0].second.narrow(0, 24, 5).to(torch::kBFloat16)}};
    s.optimizer_meta = test::zero_meta(flat_meta, kWorld, 2);
    s.metadata = {.step = step, .world_size = kWorld, .zero_stage = 2, .precision = "bf16"};
    return s;
  }
  void write_shard(const fs::path& dir, int rank) const {
    write_fragment_shard(dir / zero_shard_file_name(rank), rank, kWorld, 2,
                         test::rank_fragments(flat, flat_meta["layouts"], rank, kWorld));
  }
};

/// Runs `body` in a forked child; returns its exit code (1 when it threw).
template <typename Body>
pid_t fork_rank(Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank child: %s\n", e.what());
      code = 1;
    }
    ::_exit(code);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CheckpointSharedSave, EveryRankWritesItsShardThenRankZeroInstalls) {
  test::ScratchDir dir("shared-save");
  const fs::path d = dir.path();
  ShardedRun run;
  CheckpointState before = run.zero_state(4);
  before.optimizer_meta = run.flat_meta;  // an ordinary stage-0 checkpoint first
  before.optimizer = run.flat;
  save_checkpoint(d, before);

  const std::string tag = checkpoint_tag(5);
  EXPECT_EQ(tag, "global_step5");
  fs::path tmp = prepare_shared_save(d, tag);
  EXPECT_EQ(tmp, shared_temp_dir(d, tag, ::getpid()));
  EXPECT_TRUE(fs::is_directory(tmp));
  EXPECT_EQ(remove_stale_temporaries(d), 0u);  // our own prepared directory is not a leftover
  run.write_shard(tmp, 0);
  const long owner = ::getpid();
  std::vector<pid_t> ranks;
  for (int r = 1; r < kWorld; ++r) {
    ranks.push_back(fork_rank([&, r] {
      // A rank's cleanup must leave the directory of a live owner alone, too.
      remove_stale_temporaries(d);
      run.write_shard(shared_temp_dir(d, tag, owner), r);
    }));
  }
  for (pid_t p : ranks) EXPECT_EQ(wait_exit(p), 0);
  EXPECT_EQ(latest_tag(d), "global_step4");  // nothing is visible before rank 0 installs
  EXPECT_FALSE(fs::exists(d / tag));

  fs::path installed = save_checkpoint(d, run.zero_state(5), {.tag = tag, .prepared_dir = tmp});
  EXPECT_EQ(installed, d / tag);
  EXPECT_EQ(latest_tag(d), tag);
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_FALSE(fs::exists(installed / "optimizer.safetensors"));  // ZeRO: the states are in the shards
  json files = json::parse(read_file(installed / "metadata.json"))["files"];
  for (int r = 0; r < kWorld; ++r) {
    const std::string name = zero_shard_file_name(r);
    ASSERT_TRUE(files.contains(name)) << name;
    EXPECT_EQ(files[name].get<std::uintmax_t>(), fs::file_size(installed / name));
  }

  CheckpointState loaded = load_checkpoint(d);
  EXPECT_EQ(loaded.metadata.world_size, kWorld);
  EXPECT_TRUE(loaded.optimizer.empty());
  ParamStates states = ParamStates::open(installed, loaded);
  EXPECT_TRUE(torch::equal(states.full("exp_avg", "w").reshape({-1}), run.flat[1].second.narrow(0, 0, 24)));
  EXPECT_TRUE(torch::equal(states.full("master", "b"), run.flat[0].second.narrow(0, 24, 5)));

  // A shard's size is validated like every other file's.
  const fs::path shard = installed / zero_shard_file_name(2);
  fs::resize_file(shard, fs::file_size(shard) - 4);
  try {
    load_checkpoint(d);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(shard.string() + ": has the wrong size", 0), 0u) << e.what();
  }
}

TEST(CheckpointSharedSave, AMissingShardStopsTheInstall) {
  test::ScratchDir dir("shared-save-missing");
  const fs::path d = dir.path();
  ShardedRun run;
  fs::path tmp = prepare_shared_save(d, "global_step5");
  run.write_shard(tmp, 0);
  run.write_shard(tmp, 2);
  try {
    save_checkpoint(d, run.zero_state(5), {.prepared_dir = tmp});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              tmp.string() + ": rank 1 has not written zero_shard_rank1.safetensors; hint: every rank writes its shard "
                             "into the prepared directory before rank 0 calls save_checkpoint (barrier between)");
  }
  EXPECT_EQ(latest_tag(d), std::nullopt);
  EXPECT_FALSE(fs::exists(d / "global_step5"));
  // Once its save has failed, the directory is an ordinary leftover of this process.
  EXPECT_EQ(remove_stale_temporaries(d), 1u);
  EXPECT_FALSE(fs::exists(tmp));
}

TEST(CheckpointSharedSave, PreparedDirectoriesAreCheckedAndOwnedByTheirProcess) {
  test::ScratchDir dir("shared-save-owner");
  const fs::path d = dir.path();
  ShardedRun run;
  try {
    save_checkpoint(d, run.zero_state(5), {.prepared_dir = d / "elsewhere"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "SaveOptions::prepared_dir: not this process's prepared save directory for tag 'global_step5' (got " +
                  (d / "elsewhere").string() + "); expected " + shared_temp_dir(d, "global_step5", ::getpid()).string() +
                  "; hint: pass what prepare_shared_save(DIR, tag) returned in this process");
  }
  // Right name, but never prepared (or already installed): refused too.
  fs::path unprepared = shared_temp_dir(d, "global_step5", ::getpid());
  EXPECT_THROW(save_checkpoint(d, run.zero_state(5), {.prepared_dir = unprepared}), UsageError);
  EXPECT_THROW(shared_temp_dir(d, "../up", 1), UsageError);

  // A prepared directory whose owner died is a leftover for anyone.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t owner = fork_rank([&] {
    fs::path p = prepare_shared_save(d, "global_step9");
    ssize_t n = ::write(pipe_fds[1], "x", 1);
    (void)n;
    (void)p;
  });
  char c;
  ASSERT_EQ(::read(pipe_fds[0], &c, 1), 1);
  EXPECT_EQ(wait_exit(owner), 0);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_TRUE(fs::is_directory(shared_temp_dir(d, "global_step9", owner)));
  EXPECT_EQ(remove_stale_temporaries(d), 1u);
  EXPECT_FALSE(fs::exists(shared_temp_dir(d, "global_step9", owner)));
}

}  // namespace
}  // namespace ds::engine::checkpoint
