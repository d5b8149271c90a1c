#include "estimators/estimate_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "common/units.hpp"
#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

const ModelSpec& preset(const char* name) { return find_model_preset(name)->spec; }

// The cells of each line of a rendered table (columns are separated by two or more spaces).
std::vector<std::vector<std::string>> cells(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(text);
  static const std::regex gap(" {2,}");
  for (std::string line; std::getline(in, line);) {
    line = std::regex_replace(line, std::regex("^ +| +$"), "");
    out.emplace_back(std::sregex_token_iterator(line.begin(), line.end(), gap, -1), std::sregex_token_iterator());
  }
  return out;
}

using Row = std::vector<std::string>;

profiles::ClusterSpec h100_node() {
  profiles::ClusterSpec c;
  c.gpus_per_node = 8;
  c.device_name = "NVIDIA H100 80GB HBM3";
  c.device_memory_bytes = 80 * kGiB;
  c.cpu_memory_per_node_bytes = 2048 * kGiB;
  c.nvme_bytes_per_node = 1.5 * kGiB;
  c.source = "h100-80g";
  return c;
}

// Published counts: Llama-2-7B 6,738,415,616; Mixtral-8x7B 46,702,792,704.
TEST(EstimateReport, DescribeLines) {
  const ModelSpec& llama = preset("llama-2-7b");
  EXPECT_EQ(describe_model(llama, count_params(llama)),
            "llama-2-7b (llama): 6,738,415,616 params (6.74 B); 32 layers, hidden 4096, 32 heads / 32 kv, ffn 11008, "
            "vocab 32000");
  const ModelSpec& mixtral = preset("mixtral-8x7b");
  EXPECT_EQ(describe_model(mixtral, count_params(mixtral)),
            "mixtral-8x7b (mixtral): 46,702,792,704 params (46.70 B); 32 layers, hidden 4096, 32 heads / 8 kv, ffn "
            "14336, vocab 32000, 8 experts (top 2)");
  auto c = h100_node();
  c.nodes = 2;
  EXPECT_EQ(describe_cluster(c), "2 nodes x 8 x NVIDIA H100 80GB HBM3 (80.00 GiB each), 2048.00 GiB CPU and 1.50 GiB "
                                 "NVMe per node [preset h100-80g]");
  c = {};
  c.device = profiles::DeviceKind::kCpu;
  c.is_preset = false;
  c.source = "p-1";
  EXPECT_EQ(describe_cluster(c), "1 node x 1 CPU rank (0.00 GiB each), 0.00 GiB CPU and 0.00 GiB NVMe per node "
                                 "[profile p-1]");
  Plan p;
  EXPECT_EQ(describe_plan(p), "bf16 adamw, micro-batch 1 x seq 2048, grad-accum 1, dp 1 tp 1 pp 1 sp 1, checkpointing "
                              "none, fused attention");
  p.optimizer = OptimizerKind::kSgd;
  p.sgd_momentum = true;
  p.fused_attention = false;
  p.engine = Engine::kDs;
  p.dp = 2;
  EXPECT_EQ(describe_plan(p), "bf16 sgd-momentum, micro-batch 1 x seq 2048, grad-accum 1, dp 2 tp 1 pp 1 sp 1, "
                              "checkpointing none, unfused attention, ds engine's buffers");
}

// ds-tiny by hand: embed 512 x 128 = 65,536 of 1,049,728 = 6.24%; per layer 246,016; tied.
// Mixtral's active parameters per token: embed + lm_head 262,144,000 + final norm 4,096 + 32 x
// (attention 41,943,040 + norms 8,192 + router 32,768 + 2 experts x 176,160,768) = 12,879,925,248.
TEST(EstimateReport, RenderParams) {
  const ModelSpec& tiny = preset("ds-tiny");
  auto lines = cells(render_params(tiny, count_params(tiny)));
  EXPECT_EQ(lines[2], (Row{"module", "per instance", "x", "total"}));
  EXPECT_EQ(lines[4], (Row{"model.embed_tokens", "65,536", "1", "65,536"}));
  EXPECT_NE(std::find(lines.begin(), lines.end(), Row{"embeddings", "65,536", "6.24%"}), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), Row{"lm_head is tied to the input embedding (counted once)"}),
            lines.end());
  EXPECT_EQ(lines.back(), (Row{"total 1,049,728, per layer 246,016, largest module 65,536"}));
  const ModelSpec& mixtral = preset("mixtral-8x7b");
  std::string text = render_params(mixtral, count_params(mixtral));
  EXPECT_NE(text.find(", active per token 12,879,925,248\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("tied"), std::string::npos);
}

TEST(EstimateReport, MemoryTableMarksImpossibleRows) {
  TableRow ok, bad;
  ok.plan.zero_stage = 3;
  ok.plan.offload_optimizer = ok.plan.offload_param = OffloadDevice::kCpu;
  ok.estimate.device_peak_bytes = 2 * kGiB;
  ok.estimate.cpu_peak_bytes_per_node = 1.5 * kGiB;
  ok.fit = {true, 78 * kGiB, 0, 0, ""};
  ok.largest_micro_batch = 4;
  bad.plan.zero_stage = 2;
  bad.problems = {"ZeRO stage 2 cannot be combined with pipeline parallelism (pp=2)", "second"};
  auto lines = cells(render_memory_table(preset("ds-tiny"), h100_node(), Plan{}, {ok, bad}));
  EXPECT_EQ(lines[0][0], "model:");
  EXPECT_EQ(lines[1][0], "cluster: 1 node x 8 x NVIDIA H100 80GB HBM3 (80.00 GiB each), 2048.00 GiB CPU and 1.50 GiB NVMe "
                         "per node [preset h100-80g]");
  EXPECT_EQ(lines[6], (Row{"3", "cpu / cpu", "2.00", "1.50", "0.00", "yes", "78.00", "4"}));
  EXPECT_EQ(lines[7], (Row{"2", "none", "-", "-", "-", "n/a", "-", "-"}));  // offload_param only at stage 3
  EXPECT_EQ(lines[9], (Row{"not possible:"}));
  EXPECT_EQ(lines[10], (Row{"stage 2 none: ZeRO stage 2 cannot be combined with pipeline parallelism (pp=2)"}));
  EXPECT_EQ(lines.size(), 11u);  // only the first problem of a row is noted
}

// Categories in the fixed order whatever the items' order; empty items dropped (activations kept).
TEST(EstimateReport, BreakdownOrdersCategoriesAndStatesTheFit) {
  MemoryEstimate e;
  e.items = {{Category::kRuntime, Location::kDevice, Phase::kAlways, 1 * kGiB, "CUDA context (default)"},
             {Category::kGradients, Location::kDevice, Phase::kForwardBackward, 0, "none"},
             {Category::kActivations, Location::kDevice, Phase::kForwardBackward, 0, "acts"},
             {Category::kParams, Location::kCpu, Phase::kAlways, 0.5 * kGiB, "2 B x params"}};
  e.device_peak_bytes = 1 * kGiB;
  e.cpu_peak_bytes_per_node = 0.5 * kGiB;
  FitCheck no{false, -0.25 * kGiB, 3 * kGiB, 0, "device"};
  auto lines = cells(render_breakdown(preset("ds-tiny"), h100_node(), Plan{}, e, no, 0));
  ASSERT_EQ(lines[2].size(), 2u);
  EXPECT_EQ(lines[2][1].rfind("ZeRO stage 0, offload optimizer none, offload param none, bf16 adamw", 0), 0u);
  EXPECT_EQ(lines[6], (Row{"params", "-", "0.50", "-", "always", "2 B x params"}));
  EXPECT_EQ(lines[7], (Row{"activations", "0.00", "-", "-", "forward_backward", "acts"}));
  EXPECT_EQ(lines[8], (Row{"runtime", "1.00", "-", "-", "always", "CUDA context (default)"}));
  EXPECT_EQ(lines[9], (Row{"peak", "1.00", "0.50", "0.00"}));
  EXPECT_EQ(lines[11], (Row{"fits: no, device memory exceeded (device headroom -0.25 GiB, CPU headroom 3.00 GiB per "
                            "node); largest micro-batch that fits: 0"}));
  auto cpu = h100_node();
  cpu.device = profiles::DeviceKind::kCpu;
  FitCheck yes{true, 2 * kGiB, 0, 0, ""};
  EXPECT_EQ(cells(render_breakdown(preset("ds-tiny"), cpu, Plan{}, e, yes, 16)).back(),
            (Row{"fits: yes, 2.00 GiB headroom per rank; largest micro-batch that fits: 16"}));
}

TEST(EstimateReport, DeepSpeedFormulaAndPresets) {
  DeepSpeedFormulaInput in{6'738'415'616, 131'072'000, 8, 1, 1.5};
  std::vector<DeepSpeedFormulaRow> rows = {{2, true, false, false, 3 * static_cast<std::int64_t>(kGiB), 0},
                                           {3, false, true, true, 0, static_cast<std::int64_t>(kGiB)}};
  auto lines = cells(render_deepspeed_formula(preset("llama-2-7b"), in, rows));
  EXPECT_EQ(lines[1], (Row{"model: llama-2-7b, 6,738,415,616 total params, 131,072,000 largest layer params"}));
  EXPECT_EQ(lines[2], (Row{"hardware: 1 node(s) x 8 GPU(s), additional_buffer_factor 1.5"}));
  EXPECT_EQ(lines[6], (Row{"2", "3.00", "0.00", "offload_optimizer=cpu"}));
  EXPECT_EQ(lines[7], (Row{"3", "0.00", "1.00", "offload_param=cpu, offload_optimizer=none, zero_init=1"}));
  std::string presets = render_presets();
  for (const auto& name : model_preset_names()) EXPECT_NE(presets.find("\n" + name + " "), std::string::npos) << name;
  EXPECT_NE(presets.find("6,738,415,616"), std::string::npos);
  EXPECT_NE(presets.find("\ncpu-only "), std::string::npos);
}

}  // namespace
}  // namespace ds::estimators
