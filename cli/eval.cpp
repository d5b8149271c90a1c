// `ds eval`: mean cross-entropy and perplexity of a ds checkpoint or a Hugging Face model on a
// token file.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli_context.hpp"
#include "common/progress.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "engine/checkpoint/load_model.hpp"
#include "engine/data/token_file.hpp"
#include "engine/train/evaluate.hpp"

namespace ds::cli {
namespace {

struct EvalFlags {
  std::string model;
  std::string data;
  std::string tag;
  std::string dtype = "fp32";
  engine::train::EvalOptions options;
};

std::string source_name(engine::checkpoint::ModelSource source) {
  return source == engine::checkpoint::ModelSource::kDsCheckpoint ? "ds checkpoint" : "hugging face";
}

void print_eval(const EvalFlags& f, const engine::checkpoint::LoadedModel& m, const engine::train::EvalResult& r,
                bool json) {
  nlohmann::ordered_json j;
  j["model"] = f.model;
  j["source"] = source_name(m.source);
  j["weights"] = m.weights.string();
  j["tag"] = m.tag.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(m.tag);
  j["step"] = m.source == engine::checkpoint::ModelSource::kDsCheckpoint ? nlohmann::ordered_json(m.step)
                                                                          : nlohmann::ordered_json(nullptr);
  j["data"] = f.data;
  j["dtype"] = f.dtype;
  j["seq"] = r.seq;
  j["windows"] = r.windows;
  j["tokens"] = r.tokens;
  j["file_tokens"] = r.file_tokens;
  j["mean_loss"] = r.mean_loss;
  j["perplexity"] = r.perplexity;
  j["seconds"] = r.seconds;
  j["tokens_per_s"] = r.tokens_per_s;
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  Table table({"field", "value"});
  table.add_row({"model", m.weights.string() + " (" + source_name(m.source) +
                              (m.tag.empty() ? "" : ", " + m.tag) + ")"});
  table.add_row({"data", f.data});
  table.add_row({"windows", format_thousands(static_cast<std::uint64_t>(r.windows)) + " x " +
                                std::to_string(r.seq) + " tokens"});
  table.add_row({"tokens scored", format_thousands(static_cast<std::uint64_t>(r.tokens)) + " of " +
                                      format_thousands(static_cast<std::uint64_t>(r.file_tokens))});
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", r.mean_loss);
  table.add_row({"mean loss", std::string(buf) + " nats/token"});
  std::snprintf(buf, sizeof buf, "%.4f", r.perplexity);
  table.add_row({"perplexity", buf});
  std::snprintf(buf, sizeof buf, "%.0f tokens/s", r.tokens_per_s);
  table.add_row({"speed", std::string(buf) + " (" + f.dtype + ", " + Progress::format_duration(r.seconds) + ")"});
  std::printf("%s", table.render().c_str());
}

void run_eval(EvalFlags f, const GlobalOptions& global) {
  engine::checkpoint::LoadModelOptions load;
  load.tag = f.tag;
  load.dtype = f.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat;
  engine::checkpoint::LoadedModel m = engine::checkpoint::load_model(f.model, load);
  auto tokens = engine::data::TokenFile::open(f.data);
  std::unique_ptr<Progress> progress;
  f.options.on_progress = [&](std::int64_t done, std::int64_t total) {
    if (!progress) progress = std::make_unique<Progress>("eval", total, Progress::Options{.enabled = !global.json && !global.quiet});
    progress->update(static_cast<std::size_t>(done));
  };
  engine::train::EvalResult r = engine::train::evaluate(*m.model, tokens, f.options);
  if (progress) progress->finish();
  print_eval(f, m, r, global.json);
}

}  // namespace

void register_eval(CLI::App& app, GlobalOptions& global) {
  auto f = std::make_shared<EvalFlags>();
  auto* sub = app.add_subcommand("eval", "Mean cross-entropy and perplexity of a model on a token file");
  sub->add_option("--model", f->model, "ds checkpoint directory (or DIR/<tag>) or Hugging Face model directory")
      ->required();
  sub->add_option("--data", f->data, "Token file (.bin from `ds data prepare`)")->required();
  sub->add_option("--tag", f->tag, "Checkpoint tag (default: the one 'latest' names)");
  sub->add_option("--seq", f->options.seq, "Tokens per window (default: the model's context length)");
  sub->add_option("--max-windows", f->options.max_windows, "Evaluate only the first K windows (default: all)");
  sub->add_option("--batch", f->options.batch, "Windows per forward pass")->capture_default_str();
  sub->add_option("--dtype", f->dtype, "Model dtype: fp32 | bf16")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  sub->callback([f, &global] { run_eval(*f, global); });
}

}  // namespace ds::cli
