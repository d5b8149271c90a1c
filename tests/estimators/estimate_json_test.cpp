#include "estimators/estimate_json.hpp"

#include <gtest/gtest.h>

#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

using nlohmann::json;

const ModelSpec& preset(const char* name) { return find_model_preset(name)->spec; }

TEST(EstimateJson, ModelJsonAddsRopeScalingOnlyWhenSet) {
  json tiny = model_json(preset("ds-tiny"));
  EXPECT_EQ(tiny["name"], "ds-tiny");
  EXPECT_EQ(tiny["family"], "llama");
  EXPECT_EQ(tiny["layers"], 4);
  EXPECT_EQ(tiny["kv_heads"], 2);
  EXPECT_EQ(tiny["tied_embeddings"], true);
  EXPECT_FALSE(tiny.contains("rope_scaling"));
  EXPECT_EQ(model_json(preset("llama-3.2-1b"))["rope_scaling"], (json{{"type", "llama3"}, {"factor", 32.0}}));
}

// Llama-2-7B's groups by hand (h 4096, ffn 11008, 32 layers, vocab 32000): attention 32 x 4 x h²
// = 2,147,483,648; mlp 32 x 3 x h x ffn = 4,328,521,728; norms 32 x 2 x h = 262,144; embeddings and
// lm_head 32000 x h = 131,072,000 each; final norm 4096 -- summing to the published 6,738,415,616.
TEST(EstimateJson, ParamsJsonSumsModulesIntoGroups) {
  const ModelSpec& m = preset("llama-2-7b");
  json j = params_json(m, count_params(m));
  EXPECT_EQ(j["total"], 6'738'415'616);
  EXPECT_EQ(j["groups"], (json{{"embeddings", 131'072'000},
                               {"attention", 2'147'483'648},
                               {"mlp", 4'328'521'728},
                               {"norms", 262'144},
                               {"final_norm", 4096},
                               {"lm_head", 131'072'000}}));
  ASSERT_EQ(j["modules"].size(), 12u);
  EXPECT_EQ(j["modules"][2], (json{{"name", "model.layers.*.self_attn.q_proj"},
                                   {"group", "attention"},
                                   {"weight", 16'777'216},
                                   {"bias", 0},
                                   {"instances", 32},
                                   {"total", 536'870'912}}));
  EXPECT_EQ(j["model"]["name"], "llama-2-7b");
}

// Resolved values, not the unset optionals: overlap_comm defaults on only at stage 3, fp32
// accumulation only for bf16 without ZeRO; SGD with momentum is named as the CLI spells it.
TEST(EstimateJson, PlanJsonResolvesDefaults) {
  Plan p;
  json j = plan_json(p);
  EXPECT_EQ(j["zero_stage"], 0);
  EXPECT_EQ(j["dtype"], "bf16");
  EXPECT_EQ(j["optimizer"], "adamw");
  EXPECT_EQ(j["offload_optimizer"], "none");
  EXPECT_EQ(j["overlap_comm"], false);
  EXPECT_EQ(j["fp32_grad_accumulation"], true);
  EXPECT_EQ(j["engine"], "deepspeed");
  p.zero_stage = 3;
  p.offload_param = OffloadDevice::kNvme;
  p.optimizer = OptimizerKind::kSgd;
  p.sgd_momentum = true;
  j = plan_json(p);
  EXPECT_EQ(j["overlap_comm"], true);
  EXPECT_EQ(j["fp32_grad_accumulation"], false);
  EXPECT_EQ(j["offload_param"], "nvme");
  EXPECT_EQ(j["optimizer"], "sgd-momentum");
  p.sgd_momentum = false;
  EXPECT_EQ(plan_json(p)["optimizer"], "sgd");
}

TEST(EstimateJson, EstimateJsonSumsByLocationAndCategoryAndRoundTrips) {
  MemoryEstimate e;
  e.items = {{Category::kParams, Location::kDevice, Phase::kAlways, 100, "a"},
             {Category::kParams, Location::kDevice, Phase::kAlways, 50, "b"},
             {Category::kStepTemporaries, Location::kCpu, Phase::kOptimizerStep, 10, "c"}};
  e.device_peak_bytes = 56'389'270'707.2;  // not a whole number: must survive dump and parse
  e.ranks_per_node = 8;
  json j = json::parse(estimate_json(e).dump());
  EXPECT_EQ(j["by_category"], (json{{"device", {{"params", 150.0}}}, {"cpu", {{"optimizer_step_temp", 10.0}}},
                                    {"nvme", json::object()}}));
  EXPECT_EQ(j["items"][2], (json{{"category", "optimizer_step_temp"}, {"location", "cpu"}, {"phase", "optimizer_step"},
                                 {"bytes", 10.0}, {"detail", "c"}}));
  EXPECT_EQ(j["device_peak_bytes"].get<double>(), 56'389'270'707.2);
  EXPECT_EQ(j["ranks_per_node"], 8);
}

// Rows with problems carry only their plan and problems; the model gets its parameter count.
TEST(EstimateJson, TableJsonOmitsEstimatesOfImpossibleRows) {
  TableRow ok, bad;
  ok.estimate.device_peak_bytes = 1e9;
  ok.fit = {true, 2e9, 0, 0, ""};
  ok.largest_micro_batch = 3;
  bad.plan.zero_stage = 2;
  bad.problems = {"no"};
  json j = table_json(preset("ds-tiny"), profiles::ClusterSpec{}, Plan{}, {ok, bad});
  EXPECT_EQ(j["model"]["params"], 1'049'728);
  EXPECT_EQ(j["cluster"]["device"], "gpu");
  EXPECT_EQ(j["rows"][0]["device_bytes"], 1e9);
  EXPECT_EQ(j["rows"][0]["headroom_bytes"], 2e9);
  EXPECT_EQ(j["rows"][0]["largest_micro_batch"], 3);
  EXPECT_EQ(j["rows"][1], (json{{"zero_stage", 2}, {"offload_optimizer", "none"}, {"offload_param", "none"},
                                {"problems", {"no"}}}));
}

TEST(EstimateJson, BreakdownJsonHoldsEveryPart) {
  profiles::ClusterSpec cluster;
  cluster.source = "h100-80g";
  cluster.device_name = "H100";
  cluster.gpus_per_node = 8;
  FitCheck fit{false, -5, 1, 2, "device"};
  json j = breakdown_json(preset("gpt2"), cluster, Plan{}, MemoryEstimate{}, fit, 0);
  EXPECT_EQ(j["model"]["params"], 124'439'808);
  EXPECT_EQ(j["cluster"]["source"], "h100-80g");
  EXPECT_EQ(j["cluster"]["gpus_per_node"], 8);
  EXPECT_EQ(j["plan"]["seq_len"], 2048);
  EXPECT_EQ(j["estimate"]["items"], json::array());
  EXPECT_EQ(j["fit"], (json{{"fits", false}, {"limit", "device"}, {"device_headroom_bytes", -5.0},
                            {"cpu_headroom_bytes", 1.0}, {"nvme_headroom_bytes", 2.0}}));
  EXPECT_EQ(j["largest_micro_batch"], 0);
}

TEST(EstimateJson, DeepSpeedJsonSpellsOffloadsAsDevices) {
  DeepSpeedFormulaInput in{100, 10, 8, 2, 1.5};
  DeepSpeedFormulaRow row{3, true, false, true, 7, 9};
  json j = deepspeed_json(in, {row});
  EXPECT_EQ(j["input"], (json{{"total_params", 100}, {"largest_layer_params", 10}, {"gpus_per_node", 8}, {"nodes", 2},
                              {"additional_buffer_factor", 1.5}}));
  EXPECT_EQ(j["rows"][0], (json{{"stage", 3}, {"offload_optimizer", "cpu"}, {"offload_param", "none"},
                                {"zero_init", true}, {"cpu_bytes", 7}, {"gpu_bytes", 9}}));
}

}  // namespace
}  // namespace ds::estimators
