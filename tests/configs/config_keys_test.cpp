// Every key of the schema: its default (DeepSpeed's, see configs/config.hpp) and its parsing from
// JSON and TOML. A coverage test fails when a key is added to the schema without a row here.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "configs/config_io.hpp"
#include "configs/detail/key_list.hpp"

namespace ds::configs {
namespace {

using Json = nlohmann::ordered_json;

struct KeyRow {
  const char* path;
  const char* def;     // JSON of the default; "null" = DeepSpeed's None (no value)
  const char* sample;  // a non-default value to parse
  const char* base;    // keys the sample needs to be valid (e.g. the optimizer type)
};

std::ostream& operator<<(std::ostream& os, const KeyRow& r) { return os << r.path; }

constexpr const char* kStage3 = R"({"zero_optimization": {"stage": 3}})";
constexpr const char* kAdamW = R"({"optimizer": {"type": "AdamW"}})";
constexpr const char* kSgd = R"({"optimizer": {"type": "SGD"}})";
constexpr const char* kLamb = R"({"optimizer": {"type": "Lamb"}})";
constexpr const char* kAdagrad = R"({"optimizer": {"type": "Adagrad"}})";
constexpr const char* kOneBit = R"({"optimizer": {"type": "OneBitAdam"}})";
constexpr const char* kWarmup = R"({"scheduler": {"type": "WarmupLR"}})";
constexpr const char* kCosine = R"({"scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 100}}})";
constexpr const char* kCycle =
    R"({"scheduler": {"type": "OneCycle", "params": {"cycle_min_lr": 0.001, "cycle_max_lr": 0.01}}})";
constexpr const char* kRange = R"({"scheduler": {"type": "LRRangeTest"}})";

const KeyRow kRows[] = {
    {"train_batch_size", "null", "64", "{}"},
    {"train_micro_batch_size_per_gpu", "null", "4", "{}"},
    {"gradient_accumulation_steps", "null", "2", R"({"train_micro_batch_size_per_gpu": 1})"},
    {"gradient_clipping", "0.0", "1.5", "{}"},
    {"steps_per_print", "10", "100", "{}"},
    {"wall_clock_breakdown", "false", "true", "{}"},
    {"memory_breakdown", "false", "true", "{}"},
    {"dump_state", "false", "true", "{}"},
    {"prescale_gradients", "false", "true", "{}"},
    {"gradient_predivide_factor", "1.0", "2.0", "{}"},
    {"communication_data_type", "null", "\"fp32\"", "{}"},
    {"sparse_gradients", "false", "true", "{}"},
    {"zero_allow_untested_optimizer", "false", "true", "{}"},
    {"zero_force_ds_cpu_optimizer", "true", "false", "{}"},
    {"dataloader_drop_last", "false", "true", "{}"},
    {"sequence_parallel_size", "1", "2", "{}"},
    {"optimizer.type", "-", "\"Lion\"", "{}"},
    {"optimizer.params.lr", "0.001", "0.0003", kAdamW},
    {"optimizer.params.betas", "[0.9, 0.999]", "[0.9, 0.95]", kAdamW},
    {"optimizer.params.eps", "1e-08", "1e-06", kAdamW},
    {"optimizer.params.weight_decay", "0.0", "0.1", kAdamW},
    {"optimizer.params.bias_correction", "true", "false", kAdamW},
    {"optimizer.params.amsgrad", "false", "true", kAdamW},
    {"optimizer.params.adam_w_mode", "true", "false", R"({"optimizer": {"type": "Adam"}})"},
    {"optimizer.params.torch_adam", "false", "true", kAdamW},
    {"optimizer.params.momentum", "0.0", "0.9", kSgd},
    {"optimizer.params.dampening", "0.0", "0.1", kSgd},
    {"optimizer.params.nesterov", "false", "true", kSgd},
    {"optimizer.params.max_coeff", "10.0", "0.3", kLamb},
    {"optimizer.params.min_coeff", "0.01", "0.08", kLamb},
    {"optimizer.params.lr_decay", "0.0", "0.01", kAdagrad},
    {"optimizer.params.initial_accumulator_value", "0.0", "0.1", kAdagrad},
    {"optimizer.params.freeze_step", "100000", "400", kOneBit},
    {"optimizer.params.cuda_aware", "false", "true", kOneBit},
    {"optimizer.params.comm_backend_name", "\"nccl\"", "\"mpi\"", kOneBit},
    {"optimizer.legacy_fusion", "false", "true", kAdamW},
    {"scheduler.type", "-", "\"WarmupLR\"", "{}"},
    {"scheduler.params.warmup_min_lr", "0.0", "1e-06", kWarmup},
    {"scheduler.params.warmup_max_lr", "null", "0.0003", kWarmup},
    {"scheduler.params.warmup_num_steps", "1000", "250", kWarmup},
    {"scheduler.params.warmup_type", "\"log\"", "\"linear\"", kWarmup},
    {"scheduler.params.total_num_steps", "null", "5000", R"({"scheduler": {"type": "WarmupDecayLR"}})"},
    {"scheduler.params.warmup_min_ratio", "0.0", "0.1", kCosine},
    {"scheduler.params.cos_min_ratio", "0.0001", "0.1", kCosine},
    {"scheduler.params.cycle_min_lr", "null", "0.002", kCycle},
    {"scheduler.params.cycle_max_lr", "null", "0.02", kCycle},
    {"scheduler.params.decay_lr_rate", "0.0", "0.001", kCycle},
    {"scheduler.params.cycle_first_step_size", "2000", "500", kCycle},
    {"scheduler.params.cycle_second_step_size", "null", "700", kCycle},
    {"scheduler.params.cycle_first_stair_count", "0", "10", kCycle},
    {"scheduler.params.cycle_second_stair_count", "null", "20", kCycle},
    {"scheduler.params.decay_step_size", "0", "100", kCycle},
    {"scheduler.params.cycle_momentum", "true", "false", kCycle},
    {"scheduler.params.cycle_min_mom", "0.8", "0.85", kCycle},
    {"scheduler.params.cycle_max_mom", "0.9", "0.99", kCycle},
    {"scheduler.params.decay_mom_rate", "0.0", "0.01", kCycle},
    {"scheduler.params.lr_range_test_min_lr", "0.001", "0.0001", kRange},
    {"scheduler.params.lr_range_test_step_size", "2000", "200", kRange},
    {"scheduler.params.lr_range_test_step_rate", "1.0", "5.0", kRange},
    {"scheduler.params.lr_range_test_staircase", "false", "true", kRange},
    {"scheduler.params.last_batch_iteration", "-1", "99", kWarmup},
    {"fp16.enabled", "false", "true", "{}"},
    {"fp16.auto_cast", "false", "true", "{}"},
    {"fp16.loss_scale", "0.0", "128.0", "{}"},
    {"fp16.initial_scale_power", "16", "12", "{}"},
    {"fp16.loss_scale_window", "1000", "500", "{}"},
    {"fp16.hysteresis", "2", "4", "{}"},
    {"fp16.consecutive_hysteresis", "false", "true", "{}"},
    {"fp16.min_loss_scale", "1.0", "0.5", "{}"},
    {"fp16.fp16_master_weights_and_grads", "false", "true", "{}"},
    {"bf16.enabled", "false", "true", "{}"},
    {"bf16.immediate_grad_update", "false", "true", "{}"},
    {"bf16.check_grad_overflow", "false", "true", "{}"},
    {"zero_optimization.stage", "0", "2", "{}"},
    {"zero_optimization.overlap_comm", "null", "true", "{}"},
    {"zero_optimization.contiguous_gradients", "true", "false", "{}"},
    {"zero_optimization.reduce_scatter", "true", "false", "{}"},
    {"zero_optimization.reduce_bucket_size", "500000000", "200000000", "{}"},
    {"zero_optimization.use_multi_rank_bucket_allreduce", "true", "false", "{}"},
    {"zero_optimization.allgather_partitions", "true", "false", "{}"},
    {"zero_optimization.allgather_bucket_size", "500000000", "200000000", "{}"},
    {"zero_optimization.load_from_fp32_weights", "true", "false", "{}"},
    {"zero_optimization.elastic_checkpoint", "false", "true", "{}"},
    {"zero_optimization.offload_optimizer.device", "\"none\"", "\"cpu\"", kStage3},
    {"zero_optimization.offload_optimizer.nvme_path", "\"\"", "\"/local_nvme\"", kStage3},
    {"zero_optimization.offload_optimizer.pin_memory", "false", "true", kStage3},
    {"zero_optimization.offload_optimizer.buffer_count", "4", "8", kStage3},
    {"zero_optimization.offload_optimizer.pipeline_read", "false", "true", kStage3},
    {"zero_optimization.offload_optimizer.pipeline_write", "false", "true", kStage3},
    {"zero_optimization.offload_optimizer.fast_init", "false", "true", kStage3},
    {"zero_optimization.offload_optimizer.ratio", "1.0", "0.3", kStage3},
    {"zero_optimization.offload_param.device", "\"none\"", "\"cpu\"", kStage3},
    {"zero_optimization.offload_param.nvme_path", "\"\"", "\"/local_nvme\"", kStage3},
    {"zero_optimization.offload_param.pin_memory", "false", "true", kStage3},
    {"zero_optimization.offload_param.buffer_count", "5", "6", kStage3},
    {"zero_optimization.offload_param.buffer_size", "100000000", "200000000", kStage3},
    {"zero_optimization.offload_param.max_in_cpu", "1000000000", "2000000000", kStage3},
    {"zero_optimization.sub_group_size", "1000000000", "100000000", "{}"},
    {"zero_optimization.stage3_prefetch_bucket_size", "50000000", "15099494", "{}"},
    {"zero_optimization.stage3_param_persistence_threshold", "100000", "40960", "{}"},
    {"zero_optimization.stage3_model_persistence_threshold", "9223372036854775807", "1000000", "{}"},
    {"zero_optimization.stage3_max_live_parameters", "1000000000", "300000000", "{}"},
    {"zero_optimization.stage3_max_reuse_distance", "1000000000", "300000000", "{}"},
    {"zero_optimization.stage3_gather_16bit_weights_on_model_save", "false", "true", "{}"},
    {"zero_optimization.ignore_unused_parameters", "true", "false", "{}"},
    {"zero_optimization.round_robin_gradients", "false", "true", "{}"},
    {"zero_optimization.zero_hpz_partition_size", "1", "8", "{}"},
    {"zero_optimization.zero_quantized_weights", "false", "true", "{}"},
    {"zero_optimization.zero_quantized_nontrainable_weights", "false", "true", "{}"},
    {"zero_optimization.zero_quantized_gradients", "false", "true", "{}"},
    {"zero_optimization.mics_shard_size", "-1", "8", "{}"},
    {"zero_optimization.mics_hierarchical_params_gather", "false", "true", "{}"},
    {"zero_optimization.memory_efficient_linear", "true", "false", "{}"},
    {"zero_optimization.override_module_apply", "true", "false", "{}"},
    {"activation_checkpointing.partition_activations", "false", "true", "{}"},
    {"activation_checkpointing.cpu_checkpointing", "false", "true", "{}"},
    {"activation_checkpointing.contiguous_memory_optimization", "false", "true", "{}"},
    {"activation_checkpointing.number_checkpoints", "null", "24", "{}"},
    {"activation_checkpointing.synchronize_checkpoint_boundary", "false", "true", "{}"},
    {"activation_checkpointing.profile", "false", "true", "{}"},
    {"aio.block_size", "1048576", "262144", "{}"},
    {"aio.queue_depth", "8", "32", "{}"},
    {"aio.thread_count", "1", "4", "{}"},
    {"aio.single_submit", "false", "true", "{}"},
    {"aio.overlap_events", "true", "false", "{}"},
    {"pipeline.stages", "null", "2", "{}"},
    {"pipeline.partition", "\"best\"", "\"uniform\"", "{}"},
    {"pipeline.seed_layers", "false", "true", "{}"},
    {"pipeline.activation_checkpoint_interval", "0", "1", "{}"},
    {"pipeline.pipe_partitioned", "true", "false", "{}"},
    {"pipeline.grad_partitioned", "true", "false", "{}"},
    {"tensor_parallel.autotp_size", "0", "4", "{}"},
    {"tensor_parallel.tp_overlap_comm", "false", "true", "{}"},
    {"tensor_parallel.tp.tp_size", "1", "2", "{}"},
    {"tensor_parallel.tp.tp_grain_size", "1", "64", "{}"},
    {"checkpoint.tag_validation", "\"Warn\"", "\"Fail\"", "{}"},
    {"checkpoint.load_universal", "false", "true", "{}"},
    {"checkpoint.use_node_local_storage", "false", "true", "{}"},
    {"checkpoint.parallel_write.pipeline_stage", "false", "true", "{}"},
    {"data_types.grad_accum_dtype", "null", "\"fp32\"", "{}"},
    {"flops_profiler.enabled", "false", "true", "{}"},
    {"flops_profiler.recompute_fwd_factor", "0.0", "1.0", "{}"},
    {"flops_profiler.profile_step", "1", "5", "{}"},
    {"flops_profiler.module_depth", "-1", "2", "{}"},
    {"flops_profiler.top_modules", "1", "3", "{}"},
    {"flops_profiler.detailed", "true", "false", "{}"},
    {"flops_profiler.output_file", "\"\"", "\"flops.txt\"", "{}"},
    {"ds.model", "\"\"", "\"llama-2-7b\"", "{}"},
    {"ds.data", "\"\"", "\"data/train.bin\"", "{}"},
    {"ds.eval_data", "\"\"", "\"data/val.bin\"", "{}"},
    {"ds.tokenizer", "\"\"", "\"tokenizer.json\"", "{}"},
    {"ds.run_dir", "\"runs/ds\"", "\"runs/exp1\"", "{}"},
    {"ds.steps", "0", "1000", "{}"},
    {"ds.seq_len", "0", "2048", "{}"},
    {"ds.seed", "42", "7", "{}"},
    {"ds.nproc", "1", "4", "{}"},
    {"ds.hostfile", "\"\"", "\"hostfile\"", "{}"},
    {"ds.dtype", "null", "\"bf16\"", "{}"},
    {"ds.activation_checkpointing", "\"none\"", "\"every-3\"", "{}"},
    {"ds.backend", "\"auto\"", "\"gloo\"", "{}"},
    {"ds.comm_timeout_s", "1800", "60", "{}"},
    {"ds.save_every", "0", "100", "{}"},
    {"ds.keep_checkpoints", "2", "5", "{}"},
    {"ds.eval_every", "0", "50", "{}"},
    {"ds.resume", "true", "false", "{}"},
};

Json::json_pointer pointer(const std::string& path) {
  std::string p = "/" + path;
  std::replace(p.begin(), p.end(), '.', '/');
  return Json::json_pointer(p);
}

// Every key rendered with its default, across all optimizer and scheduler types (nulls kept).
Json all_defaults() {
  Json merged = Json::object();
  for (auto opt : {OptimizerType::kAdamW, OptimizerType::kSGD, OptimizerType::kLamb, OptimizerType::kAdagrad,
                   OptimizerType::kOneBitAdam}) {
    for (auto sched : {SchedulerType::kWarmupLR, SchedulerType::kWarmupDecayLR, SchedulerType::kWarmupCosineLR,
                       SchedulerType::kOneCycle, SchedulerType::kLRRangeTest}) {
      Config config;
      config.optimizer.type = opt;
      config.optimizer.params = optimizer_defaults(opt);
      config.scheduler.type = sched;
      merged.update(Json::parse(to_json(config, {.all_keys = true})), true);
    }
  }
  return merged;
}

class ConfigKeyTest : public ::testing::TestWithParam<KeyRow> {};

TEST_P(ConfigKeyTest, HasDeepSpeedDefault) {
  const KeyRow& row = GetParam();
  if (std::string(row.def) == "-") {  // optimizer.type, scheduler.type: by default there is no section
    const std::string section = std::string(row.path).substr(0, std::string(row.path).find('.'));
    EXPECT_FALSE(Json::parse(to_json(Config{}, {.all_keys = true})).contains(section));
    return;
  }
  static const Json defaults = all_defaults();
  ASSERT_TRUE(defaults.contains(pointer(row.path))) << row.path;
  EXPECT_EQ(defaults.at(pointer(row.path)), Json::parse(row.def)) << row.path;
}

TEST_P(ConfigKeyTest, ParsesFromJsonAndToml) {
  const KeyRow& row = GetParam();
  Json doc = Json::parse(row.base);
  doc[pointer(row.path)] = Json::parse(row.sample);
  const Config config = parse_config_json(doc.dump(), "key.json");
  EXPECT_TRUE(config.is_set(row.path));
  const Json written = Json::parse(to_json(config));
  ASSERT_TRUE(written.contains(pointer(row.path))) << written.dump();
  EXPECT_EQ(written.at(pointer(row.path)), Json::parse(row.sample));
  EXPECT_EQ(parse_config_toml(to_toml(config), "key.toml"), config) << to_toml(config);
  EXPECT_NE(config, Config{}) << "the sample must differ from the default";
}

INSTANTIATE_TEST_SUITE_P(EveryKey, ConfigKeyTest, ::testing::ValuesIn(kRows), [](const auto& info) {
  std::string name = info.param.path;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
});

TEST(ConfigKeys, TableCoversEverySchemaKey) {
  std::set<std::string> rows;
  for (const auto& row : kRows) rows.insert(row.path);
  std::set<std::string> schema;
  for (const auto& key : detail::all_keys()) {
    if (key.kind != "section" && key.kind != "passthrough") schema.insert(key.path);
  }
  for (const auto& path : schema) EXPECT_TRUE(rows.count(path)) << "no row for " << path;
  for (const auto& path : rows) EXPECT_TRUE(schema.count(path)) << "row for unknown key " << path;
}

TEST(ConfigKeys, DocsNameEveryKey) {
  const std::string docs = read_file(std::string(DS_SOURCE_DIR) + "/docs/config.md");
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (const auto& key : detail::all_keys()) {
    const std::string leaf = key.path.substr(key.path.rfind('.') + 1);
    bool found = false;
    for (auto at = docs.find(leaf); at != std::string::npos && !found; at = docs.find(leaf, at + 1)) {
      const bool starts = at == 0 || !is_word(docs[at - 1]);
      const bool ends = at + leaf.size() == docs.size() || !is_word(docs[at + leaf.size()]);
      found = starts && ends;
    }
    EXPECT_TRUE(found) << "docs/config.md does not mention " << key.path;
  }
}

TEST(ConfigKeys, PassthroughKeysAreKeptVerbatim) {
  const char* text = R"({"tensorboard": {"enabled": true, "output_path": "tb", "job_name": "x"},
    "zero_optimization": {"stage": 3, "leaf_module": {"classes": ["MoE"]}},
    "bf16": {"enabled": true, "bf16_master_weights_and_grads": true}})";
  const Config config = parse_config_json(text, "p.json");
  EXPECT_EQ(config.passthrough.at("tensorboard"), R"({"enabled":true,"job_name":"x","output_path":"tb"})");
  EXPECT_EQ(config.passthrough.at("zero_optimization.leaf_module"), R"({"classes":["MoE"]})");
  EXPECT_EQ(config.passthrough.at("bf16.bf16_master_weights_and_grads"), "true");
  EXPECT_EQ(nlohmann::json::parse(to_json(config)), nlohmann::json::parse(text));
}

TEST(ConfigKeys, NullMeansDefault) {
  const Config config = parse_config_json(R"({"activation_checkpointing": {"number_checkpoints": null}})", "n.json");
  EXPECT_FALSE(config.activation_checkpointing.number_checkpoints.has_value());
  EXPECT_FALSE(config.is_set("activation_checkpointing.number_checkpoints"));
}

TEST(ConfigKeys, OverlapCommDefaultDependsOnStage) {
  EXPECT_FALSE(parse_config_json(R"({"zero_optimization": {"stage": 2}})").zero_optimization.overlap_comm_effective());
  EXPECT_TRUE(parse_config_json(R"({"zero_optimization": {"stage": 3}})").zero_optimization.overlap_comm_effective());
}

}  // namespace
}  // namespace ds::configs
