// detail::all_keys (configs/detail/key_list.cpp): every schema key once, in schema order, with its
// kind, "auto" flag and optionality; the "auto" set is docs/config.md's table of HF-filled keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "configs/detail/key_list.hpp"

namespace ds::configs {
namespace {

using detail::all_keys;
using detail::KeyInfo;

std::map<std::string, KeyInfo> by_path() {
  std::map<std::string, KeyInfo> out;
  for (const auto& key : all_keys()) out.emplace(key.path, key);
  return out;
}

TEST(ConfigKeyList, EachPathOnceAndTheSameListEveryCall) {
  std::set<std::string> paths;
  for (const auto& key : all_keys()) EXPECT_TRUE(paths.insert(key.path).second) << key.path << " listed twice";
  EXPECT_EQ(&all_keys(), &all_keys());
}

TEST(ConfigKeyList, KindsOfRepresentativeKeys) {
  const auto keys = by_path();
  const std::map<std::string, std::string> expected = {
      {"zero_optimization", "section"},
      {"zero_optimization.stage", "integer"},
      {"fp16.enabled", "bool"},
      {"gradient_clipping", "number"},
      {"ds.model", "string"},
      {"zero_optimization.offload_optimizer.device", "enum"},
      {"optimizer.params.betas", "pair"},
      {"ds.activation_checkpointing", "policy"},
      {"tensorboard", "passthrough"},
  };
  for (const auto& [path, kind] : expected) {
    ASSERT_TRUE(keys.count(path)) << path;
    EXPECT_EQ(keys.at(path).kind, kind) << path;
  }
}

TEST(ConfigKeyList, ParamsOfEveryOptimizerAndSchedulerType) {
  const auto keys = by_path();
  // One key only one type takes, per type (docs/config.md's optimizer and scheduler tables).
  for (const char* path : {"optimizer.params.amsgrad", "optimizer.params.momentum", "optimizer.params.max_coeff",
                           "optimizer.params.lr_decay", "optimizer.params.freeze_step", "scheduler.params.warmup_max_lr",
                           "scheduler.params.cos_min_ratio", "scheduler.params.cycle_min_lr",
                           "scheduler.params.lr_range_test_min_lr"}) {
    EXPECT_TRUE(keys.count(path)) << path;
  }
}

TEST(ConfigKeyList, AutoKeysAreExactlyTheDocumentedOnes) {
  // docs/config.md "auto": the keys HfTrainerDeepSpeedConfig fills, plus pipeline.stages.
  const std::set<std::string> documented = {
      "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "train_batch_size", "gradient_clipping",
      "optimizer.params.lr", "optimizer.params.betas", "optimizer.params.eps", "optimizer.params.weight_decay",
      "scheduler.params.warmup_min_lr", "scheduler.params.warmup_max_lr", "scheduler.params.warmup_num_steps",
      "scheduler.params.total_num_steps", "fp16.enabled", "bf16.enabled", "zero_optimization.reduce_bucket_size",
      "zero_optimization.stage3_prefetch_bucket_size", "zero_optimization.stage3_param_persistence_threshold",
      "pipeline.stages"};
  std::set<std::string> listed;
  for (const auto& key : all_keys()) {
    if (key.auto_ok) listed.insert(key.path);
  }
  EXPECT_EQ(listed, documented);
}

TEST(ConfigKeyList, OptionalMeansNoDefault) {
  const auto keys = by_path();
  // DeepSpeed None defaults (config.hpp std::optional fields) against plain defaults.
  EXPECT_TRUE(keys.at("train_batch_size").optional);
  EXPECT_TRUE(keys.at("scheduler.params.total_num_steps").optional);
  EXPECT_TRUE(keys.at("zero_optimization.overlap_comm").optional);
  EXPECT_FALSE(keys.at("zero_optimization.stage").optional);
  EXPECT_FALSE(keys.at("zero_optimization").optional);
}

TEST(ConfigKeyList, SectionsComeBeforeTheirKeys) {
  const auto& keys = all_keys();
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < keys.size(); ++i) index[keys[i].path] = i;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto dot = keys[i].path.rfind('.');
    if (dot == std::string::npos) continue;
    const std::string parent = keys[i].path.substr(0, dot);
    ASSERT_TRUE(index.count(parent)) << keys[i].path << " has no section " << parent;
    EXPECT_EQ(keys[index[parent]].kind, "section") << parent;
    EXPECT_LT(index[parent], i) << keys[i].path;
  }
}

}  // namespace
}  // namespace ds::configs
