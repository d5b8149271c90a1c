#include "engine/checkpoint/param_states.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "engine/checkpoint/checkpoint.hpp"
#include "engine/checkpoint/zero_fragments.hpp"
#include "engine/io/safetensors.hpp"
#include "tests/engine/train_test_util.hpp"
#include "tests/engine/zero_checkpoint_util.hpp"

namespace ds::engine::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using train::FlatLayout;

/// Two groups' flat states of three parameters ("a.weight" [5, 7] and "b.bias" [13] in group 0,
/// "c.weight" [3, 4, 2] in group 1), every element distinct, as a stage-0 checkpoint holds them.
struct FlatFixture {
  std::vector<FlatLayout> layouts;
  std::vector<NamedTensor> tensors;  // "group<g>.<kind>"
  json meta;

  FlatFixture() {
    layouts.emplace_back(std::vector<NamedTensor>{{"a.weight", torch::empty({5, 7})}, {"b.bias", torch::empty({13})}});
    layouts.emplace_back(std::vector<NamedTensor>{{"c.weight", torch::empty({3, 4, 2})}});
    float base = 0;
    for (std::size_t g = 0; g < layouts.size(); ++g) {
      for (const char* kind : {"master", "exp_avg", "exp_avg_sq"}) {
        tensors.emplace_back("group" + std::to_string(g) + "." + kind,
                             torch::arange(layouts[g].numel(), torch::kFloat).add_(base));
        base += 1000;
      }
    }
    meta = {{"precision", "bf16"},
            {"optimizer", {{"rule", "AdamW"}, {"groups", {{{"step", 3}}, {{"step", 3}}}}}},
            {"layouts", {layouts[0].to_json(), layouts[1].to_json()}}};
  }

  /// The expected `kind` state of `param`, flattened.
  torch::Tensor expected(const std::string& kind, const std::string& param) const {
    for (std::size_t g = 0; g < layouts.size(); ++g) {
      for (const auto& slot : layouts[g].slots()) {
        if (slot.name != param) continue;
        for (const auto& [name, t] : tensors) {
          if (name == "group" + std::to_string(g) + "." + kind) return t.narrow(0, slot.offset, slot.numel);
        }
      }
    }
    ADD_FAILURE() << "no " << kind << " of " << param;
    return {};
  }

  CheckpointState flat_state() const {
    CheckpointState s;
    s.optimizer = tensors;
    s.optimizer_meta = meta;
    return s;
  }

  /// Writes a ZeRO stage-2 split over `world` ranks into `dir`; returns the state that goes with it.
  CheckpointState zero_state(const fs::path& dir, int world) const {
    test::write_shards(dir, tensors, meta["layouts"], world, 2);
    CheckpointState s;
    s.optimizer_meta = test::zero_meta(meta, world, 2);
    return s;
  }
};

std::string read_error(const ParamStates& states, const std::string& kind, const std::string& param,
                       std::int64_t offset, std::int64_t n) {
  try {
    states.read(kind, param, offset, torch::empty({n}));
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string open_error(const fs::path& dir, const CheckpointState& state) {
  try {
    ParamStates::open(dir, state);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ZeroFragments, ShardRoundTripsWithItsMetadata) {
  test::ScratchDir dir("frag-rt");
  const fs::path file = dir.path() / zero_shard_file_name(1);
  EXPECT_EQ(file.filename(), "zero_shard_rank1.safetensors");
  torch::Tensor big = torch::arange(10, torch::kFloat);
  write_fragment_shard(file, 1, 4, 2,
                       {{"master", "model.layers.0.mlp.up_proj.weight", 30, big.narrow(0, 2, 5)},
                        {"exp_avg", "lm_head.weight", 0, torch::full({2, 2}, 0.5f)},
                        {"exp_avg", "empty", 0, torch::empty({0})}});
  io::SafetensorsFile raw(file);
  EXPECT_EQ(raw.metadata(), (std::map<std::string, std::string>{
                                {"format", "ds-zero-fragments-1"}, {"rank", "1"}, {"world_size", "4"}, {"zero_stage", "2"}}));
  EXPECT_TRUE(raw.contains("master/model.layers.0.mlp.up_proj.weight/30"));
  EXPECT_FALSE(raw.contains("exp_avg/empty/0"));  // empty fragments are left out

  FragmentShard shard = read_fragment_shard(file);
  EXPECT_EQ(shard.rank, 1);
  EXPECT_EQ(shard.world_size, 4);
  EXPECT_EQ(shard.zero_stage, 2);
  ASSERT_EQ(shard.fragments.size(), 2u);  // sorted by tensor name
  EXPECT_EQ(shard.fragments[0].kind, "exp_avg");
  EXPECT_EQ(shard.fragments[0].param, "lm_head.weight");
  EXPECT_EQ(shard.fragments[0].values.sizes(), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(shard.fragments[1].param, "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(shard.fragments[1].offset, 30);
  EXPECT_TRUE(torch::equal(shard.fragments[1].values, big.narrow(0, 2, 5)));
}

TEST(ZeroFragments, BadFragmentsAndShardsGetClearErrors) {
  test::ScratchDir dir("frag-errors");
  const fs::path file = dir.path() / "x.safetensors";
  const std::string f = file.string();
  auto write_error = [&](const Fragment& fragment) {
    try {
      write_fragment_shard(file, 0, 1, 1, {fragment});
    } catch (const RuntimeError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(write_error({"master", "a", 0, torch::ones({2}, torch::kBFloat16)}),
            f + ": fragment 'master/a/0' must hold fp32 values (got BFloat16); expected Float");
  EXPECT_EQ(write_error({"exp/avg", "a", 0, torch::ones({2})}),
            f + ": cannot write fragment 'exp/avg/a/0'; expected <kind>/<param name>/<offset>; hint: a kind without "
                "'/', a non-empty parameter name and an offset >= 0");
  EXPECT_EQ(write_error({"master", "a", -1, torch::ones({2})}).rfind(f + ": cannot write fragment 'master/a/-1'", 0), 0u);

  auto read_error = [&]() {
    try {
      read_fragment_shard(file);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  io::save_safetensors(file, {{"master/a/0", torch::ones({2})}});
  EXPECT_EQ(read_error(), f + ": not a ZeRO fragment shard (got no __metadata__ \"format\"); expected format "
                              "\"ds-zero-fragments-1\"");
  const std::map<std::string, std::string> meta{
      {"format", "ds-zero-fragments-1"}, {"rank", "0"}, {"world_size", "2"}, {"zero_stage", "1"}};
  io::save_safetensors(file, {{"master/a", torch::ones({2})}}, meta);
  EXPECT_EQ(read_error(), f + ": tensor name 'master/a' is not a fragment name; expected <kind>/<param name>/<offset>; "
                              "hint: the shard is corrupt or was not written by ds");
  io::save_safetensors(file, {{"master/a/x1", torch::ones({2})}}, meta);
  EXPECT_EQ(read_error().rfind(f + ": tensor name 'master/a/x1' is not a fragment name", 0), 0u);
  io::save_safetensors(file, {{"master/a/0", torch::ones({2, 2}, torch::kDouble)}}, meta);
  EXPECT_EQ(read_error(), f + ": fragment 'master/a/0' is not a 1-D F32 tensor (got F64 [2, 2]); expected F32 [n]");
  auto no_rank = meta;
  no_rank["rank"] = "one";
  io::save_safetensors(file, {{"master/a/0", torch::ones({2})}}, no_rank);
  EXPECT_EQ(read_error(), f + ": __metadata__ \"rank\" is not a count (got \"one\"); expected a decimal string; hint: "
                              "the shard is corrupt or was not written by ds");
}

TEST(ZeroFragments, PartitionFragmentsCutAtParameterBoundariesWithoutCopying) {
  FlatLayout layout(std::vector<NamedTensor>{{"a", torch::empty({5, 7})}, {"b", torch::empty({13})}});
  torch::Tensor flat = torch::arange(56, torch::kFloat);  // 48 elements + 8 of padding
  auto middle = partition_fragments("exp_avg", layout, 30, flat.narrow(0, 30, 10));
  ASSERT_EQ(middle.size(), 2u);
  EXPECT_EQ(middle[0].param, "a");
  EXPECT_EQ(middle[0].offset, 30);
  EXPECT_EQ(middle[0].values.numel(), 5);
  EXPECT_EQ(middle[0].values.data_ptr<float>(), flat.data_ptr<float>() + 30);
  EXPECT_EQ(middle[1].param, "b");
  EXPECT_EQ(middle[1].offset, 0);
  EXPECT_EQ(middle[1].values.numel(), 5);
  EXPECT_EQ(middle[1].kind, "exp_avg");
  auto tail = partition_fragments("master", layout, 44, flat.narrow(0, 44, 12));
  ASSERT_EQ(tail.size(), 1u);  // the padding past element 48 belongs to no parameter
  EXPECT_EQ(tail[0].param, "b");
  EXPECT_EQ(tail[0].offset, 9);
  EXPECT_TRUE(torch::equal(tail[0].values, torch::arange(44, 48, torch::kFloat)));
  EXPECT_TRUE(partition_fragments("master", layout, 48, flat.narrow(0, 48, 8)).empty());
}

// Every (offset, length) window of every parameter, across fragment and shard boundaries, for
// 2- and 3-rank splits, equals the flat format's values; so does each parameter's full().
TEST(ParamStates, WindowsAcrossShardsEqualTheFlatFormat) {
  FlatFixture fx;
  ParamStates flat = ParamStates::open("/nowhere", fx.flat_state());
  EXPECT_FALSE(flat.zero());
  for (int world : {2, 3}) {
    SCOPED_TRACE("world " + std::to_string(world));
    test::ScratchDir dir("param-states");
    ParamStates zero = ParamStates::open(dir.path(), fx.zero_state(dir.path(), world));
    EXPECT_TRUE(zero.zero());
    ASSERT_EQ(zero.params().size(), 3u);
    EXPECT_EQ(zero.params()[2].name, "c.weight");
    EXPECT_EQ(zero.params()[2].shape, (std::vector<std::int64_t>{3, 4, 2}));
    EXPECT_TRUE(zero.has("exp_avg_sq"));
    EXPECT_FALSE(zero.has("momentum_buffer"));
    for (const ParamStates::Param& p : zero.params()) {
      for (const char* kind : {"master", "exp_avg", "exp_avg_sq"}) {
        torch::Tensor want = fx.expected(kind, p.name);
        for (std::int64_t offset = 0; offset < p.numel; ++offset) {
          for (std::int64_t n : {std::int64_t{1}, std::int64_t{3}, p.numel - offset}) {
            if (offset + n > p.numel) continue;
            torch::Tensor got = torch::full({n}, -1.0f), got_flat = torch::full({n}, -1.0f);
            zero.read(kind, p.name, offset, got);
            flat.read(kind, p.name, offset, got_flat);
            ASSERT_TRUE(torch::equal(got, want.narrow(0, offset, n))) << kind << " " << p.name << " @" << offset << "+" << n;
            ASSERT_TRUE(torch::equal(got_flat, got));
          }
        }
        torch::Tensor full = zero.full(kind, p.name);
        EXPECT_EQ(full.sizes().vec(), p.shape);
        EXPECT_TRUE(torch::equal(full.reshape({-1}), want));
      }
    }
    // A bf16 destination gets the values rounded, as copy_ does.
    torch::Tensor half = torch::empty({5}, torch::kBFloat16);
    zero.read("exp_avg", "b.bias", 4, half);
    EXPECT_TRUE(torch::equal(half, fx.expected("exp_avg", "b.bias").narrow(0, 4, 5).to(torch::kBFloat16)));
  }
  // The flat format's whole parameters are zero-copy views of the flat tensors.
  EXPECT_EQ(flat.full("exp_avg", "b.bias").data_ptr<float>(), fx.tensors[1].second.data_ptr<float>() + 35);
}

// read_flat fills a rank partition of another split (here 2 ranks reading a 3-rank checkpoint,
// padding untouched), which is what a partitioned optimizer resuming on a new world size does.
TEST(ParamStates, ReadFlatReshardsToAnotherWorldSize) {
  FlatFixture fx;
  test::ScratchDir dir("param-states-reshard");
  ParamStates states = ParamStates::open(dir.path(), fx.zero_state(dir.path(), 3));
  for (int rank = 0; rank < 2; ++rank) {
    torch::Tensor part = torch::full({24}, -7.0f);  // group 1: 24 elements, 12 per rank
    states.read_flat("exp_avg", fx.layouts[1], rank * 12, part.narrow(0, 0, 12));
    EXPECT_TRUE(torch::equal(part.narrow(0, 0, 12), fx.tensors[4].second.narrow(0, rank * 12, 12)));
    EXPECT_TRUE(part.narrow(0, 12, 12).eq(-7.0f).all().item<bool>());
  }
  torch::Tensor tail = torch::full({10}, -7.0f);  // group 0 elements [40, 50): 8 real, then padding past 48
  states.read_flat("master", fx.layouts[0], 40, tail);
  EXPECT_TRUE(torch::equal(tail.narrow(0, 0, 8), fx.tensors[0].second.narrow(0, 40, 8)));
  EXPECT_TRUE(tail.narrow(0, 8, 2).eq(-7.0f).all().item<bool>());
  FlatLayout other(std::vector<NamedTensor>{{"c.weight", torch::empty({4, 3, 2})}});
  try {
    states.read_flat("master", other, 0, torch::empty({24}));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              dir.path().string() + ": parameter 'c.weight' has another shape in the checkpoint (got [3, 4, 2]); expected [4, 3, 2]");
  }
}

TEST(ParamStates, UncoveredRangesUnknownNamesAndBoundsAreErrors) {
  FlatFixture fx;
  test::ScratchDir dir("param-states-gap");
  const std::string d = dir.path().string();
  CheckpointState state = fx.zero_state(dir.path(), 2);
  // Rank 1's shard loses its exp_avg fragment of a.weight (elements [24, 35)).
  auto frags = test::rank_fragments(fx.tensors, fx.meta["layouts"], 1, 2);
  std::erase_if(frags, [](const Fragment& f) { return f.kind == "exp_avg" && f.param == "a.weight"; });
  write_fragment_shard(dir.path() / zero_shard_file_name(1), 1, 2, 2, frags);
  ParamStates states = ParamStates::open(dir.path(), state);
  EXPECT_EQ(read_error(states, "exp_avg", "a.weight", 20, 4), "(no error)");
  EXPECT_EQ(read_error(states, "exp_avg", "a.weight", 20, 10),
            d + ": no fragment holds elements [24, 30) of 'a.weight' (exp_avg) (got fragments [0, 24) in "
                "zero_shard_rank0.safetensors); hint: the checkpoint is incomplete or its shard files come from "
                "different saves");
  EXPECT_EQ(read_error(states, "exp_avg", "a.weigth", 0, 1),
            d + ": no optimizer state for parameter 'a.weigth'; expected one of the 3 parameters it saved; did you "
                "mean 'a.weight'?");
  EXPECT_EQ(read_error(states, "momentum_buffer", "a.weight", 0, 1),
            d + ": no 'momentum_buffer' optimizer state saved; expected one of exp_avg, exp_avg_sq, master");
  EXPECT_EQ(read_error(states, "master", "b.bias", 10, 5),
            d + ": elements [10, 15) of 'b.bias' asked for; expected within [0, 13)");
  EXPECT_EQ(read_error(states, "master", "b.bias", -1, 2),
            d + ": elements [-1, 1) of 'b.bias' asked for; expected within [0, 13)");
  try {
    states.full("exp_avg", "a.weight");
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(d + ": no fragment holds elements [24, 35) of 'a.weight' (exp_avg)", 0), 0u);
  }
  ParamStates empty = ParamStates::open(dir.path(), CheckpointState{});
  EXPECT_FALSE(empty.has("master"));
  EXPECT_TRUE(empty.params().empty());
}

TEST(ParamStates, BrokenShardSetsAreRefusedOnOpen) {
  FlatFixture fx;
  test::ScratchDir dir("param-states-open");
  const fs::path d = dir.path();
  auto shard = [&](int r) { return d / zero_shard_file_name(r); };
  CheckpointState state = fx.zero_state(d, 3);
  fs::remove(shard(2));
  EXPECT_EQ(open_error(d, state), shard(2).string() + ": missing; expected one shard per rank (3 ranks saved this); "
                                                      "hint: the checkpoint is incomplete; load an older tag");
  state = fx.zero_state(d, 3);
  fs::copy_file(shard(0), shard(1), fs::copy_options::overwrite_existing);
  EXPECT_EQ(open_error(d, state), shard(1).string() + ": holds another rank's shard (got 0); expected 1 "
                                                      "(trainer_state.json); hint: the file was copied from another "
                                                      "checkpoint; restore this checkpoint's own shards");
  state = fx.zero_state(d, 3);
  fs::create_directories(d / "two");
  fx.zero_state(d / "two", 2);
  fs::copy_file(d / "two" / zero_shard_file_name(1), shard(1), fs::copy_options::overwrite_existing);
  EXPECT_EQ(open_error(d, state).rfind(shard(1).string() + ": was written by a run with another world size (got 2); "
                                                           "expected 3 (trainer_state.json)", 0), 0u);

  auto with_extra = [&](const Fragment& extra) {
    fx.zero_state(d, 3);
    auto frags = test::rank_fragments(fx.tensors, fx.meta["layouts"], 1, 3);
    frags.push_back(extra);
    write_fragment_shard(shard(1), 1, 3, 2, frags);
    return open_error(d, state);
  };
  // Rank 0 holds a.weight [0, 16), rank 1 [16, 32).
  EXPECT_EQ(with_extra({"master", "a.weight", 12, torch::ones({2})}),
            shard(1).string() + ": fragments of 'a.weight' (master) overlap (got [0, 16) in zero_shard_rank0.safetensors "
                                "and [12, 14)); expected each element saved once; hint: the directory mixes shard files "
                                "of different saves");
  EXPECT_EQ(with_extra({"master", "b.bias", 10, torch::ones({5})}),
            shard(1).string() + ": fragment 'master/b.bias/10' lies outside its parameter (got elements [10, 15)); "
                                "expected within [0, 13); hint: the checkpoint is corrupt");
  EXPECT_EQ(with_extra({"master", "b.bais", 0, torch::ones({1})}),
            shard(1).string() + ": fragment 'master/b.bais/0' is of a parameter trainer_state.json does not list; "
                                "did you mean 'b.bias'?");
  CheckpointState bad = state;
  bad.optimizer_meta["zero"].erase("world_size");
  EXPECT_EQ(open_error(d, bad).rfind((d / "trainer_state.json").string() + ": malformed ZeRO optimizer metadata (", 0), 0u);
}

}  // namespace
}  // namespace ds::engine::checkpoint
