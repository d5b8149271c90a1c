// `ds checkpoint list DIR` (what is saved there) and `ds checkpoint export DIR --hf OUT` (a
// Hugging Face model directory from a training checkpoint, like DeepSpeed's zero_to_fp32).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli_context.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "engine/checkpoint/checkpoint_list.hpp"
#include "engine/checkpoint/export_hf.hpp"
#include "engine/io/hf_config_writer.hpp"
#include "estimators/model_spec.hpp"

namespace ds::cli {
namespace {

namespace ckpt = engine::checkpoint;

struct ExportFlags {
  std::string dir;
  std::string out;
  std::string tag;
  std::string dtype = "fp32";
  std::string max_shard_size = "5GB";
  std::string model;
};

torch::ScalarType export_dtype(const std::string& name) {
  if (name == "bf16") return torch::kBFloat16;
  if (name == "fp16") return torch::kHalf;
  return torch::kFloat;
}

void run_export(const ExportFlags& f, bool json) {
  ckpt::ExportOptions options;
  options.tag = f.tag;
  options.dtype = export_dtype(f.dtype);
  options.max_shard_bytes = static_cast<std::uint64_t>(parse_bytes(f.max_shard_size, "--max-shard-size"));
  if (!f.model.empty()) options.model_config = engine::io::hf_config_json(estimators::load_model_spec(f.model));
  ckpt::ExportResult r = ckpt::export_hf(f.dir, f.out, options);
  if (json) {
    nlohmann::ordered_json j;
    j["tag"] = r.tag;
    j["step"] = r.step;
    j["out"] = f.out;
    j["dtype"] = f.dtype;
    j["tensors"] = r.tensors;
    j["parameters"] = r.parameters;
    j["from_fp32_master"] = r.from_fp32_master;
    j["files"] = nlohmann::ordered_json::array();
    for (const auto& p : r.files) j["files"].push_back(p.string());
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("exported %s (step %lld) to %s: %lld tensors, %s parameters in %s%s\n", r.tag.c_str(),
              static_cast<long long>(r.step), f.out.c_str(), static_cast<long long>(r.tensors),
              format_count(static_cast<double>(r.parameters)).c_str(), f.dtype.c_str(),
              r.from_fp32_master ? ", from the fp32 master weights" : "");
  for (const auto& p : r.files) std::printf("  %s\n", p.string().c_str());
}

void register_export(CLI::App& checkpoint, GlobalOptions& global) {
  auto f = std::make_shared<ExportFlags>();
  auto* sub = checkpoint.add_subcommand("export", "Write a checkpoint as a Hugging Face model (safetensors + config.json)");
  sub->add_option("dir", f->dir, "Checkpoint directory (the one holding 'latest')")->required();
  sub->add_option("--hf", f->out, "Output directory for the Hugging Face model")->required();
  sub->add_option("--tag", f->tag, "Checkpoint tag (default: the one 'latest' names)");
  sub->add_option("--dtype", f->dtype, "Weights dtype: fp32 | bf16 | fp16")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
  sub->add_option("--max-shard-size", f->max_shard_size, "Split into shards above this size (GB = 1e9 bytes)")
      ->capture_default_str();
  sub->add_option("--model", f->model, "Preset or config.json for config.json when the checkpoint has none");
  sub->callback([f, &global] { run_export(*f, global.json); });
}

void run_list(const std::string& dir, bool json) {
  std::vector<ckpt::CheckpointSummary> list = ckpt::summarize_checkpoints(dir);
  if (json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& s : list) {
      const ckpt::Metadata& m = s.metadata;
      j.push_back({{"tag", m.tag},       {"step", m.step},           {"tokens", m.tokens},
                   {"world_size", m.world_size}, {"zero_stage", m.zero_stage}, {"precision", m.precision},
                   {"bytes", s.bytes},   {"latest", s.latest}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  if (list.empty()) {
    std::printf("no complete checkpoints in %s\n", dir.c_str());
    return;
  }
  using A = Table::Align;
  Table table({"tag", "step", "tokens", "world size", "stage", "precision", "size", "latest"},
              {A::kLeft, A::kRight, A::kRight, A::kRight, A::kRight, A::kLeft, A::kRight, A::kLeft});
  for (const auto& s : list) {
    const ckpt::Metadata& m = s.metadata;
    table.add_row({m.tag, format_thousands(static_cast<std::uint64_t>(m.step)),
                   format_thousands(static_cast<std::uint64_t>(m.tokens)), std::to_string(m.world_size),
                   std::to_string(m.zero_stage), m.precision.empty() ? "-" : m.precision,
                   format_bytes(static_cast<double>(s.bytes)), s.latest ? "*" : ""});
  }
  std::printf("%s", table.render().c_str());
}

void register_list(CLI::App& checkpoint, GlobalOptions& global) {
  auto dir = std::make_shared<std::string>();
  auto* sub = checkpoint.add_subcommand("list", "List the checkpoints in a directory (latest marked)");
  sub->add_option("dir", *dir, "Checkpoint directory")->required();
  sub->callback([dir, &global] { run_list(*dir, global.json); });
}

}  // namespace

void register_checkpoint(CLI::App& app, GlobalOptions& global) {
  auto* checkpoint = app.add_subcommand("checkpoint", "List checkpoints and export them to Hugging Face safetensors");
  checkpoint->require_subcommand(1);
  register_list(*checkpoint, global);
  register_export(*checkpoint, global);
}

}  // namespace ds::cli
