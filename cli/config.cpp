// `ds config check FILE` and `ds config convert IN OUT`: validate, resolve and convert DeepSpeed
// JSON / TOML configs (configs/).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/cli_context.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "configs/auto_resolve.hpp"
#include "configs/batch.hpp"
#include "configs/config_io.hpp"
#include "estimators/model_spec.hpp"

namespace ds::cli {
namespace {

struct CheckOptions {
  std::string file;
  int world_size = 1;                      ///< ranks in the job (data-parallel size = world / (pp * tp))
  std::string model;                       ///< preset, HF config.json or its folder; default ds.model
  std::optional<std::int64_t> hidden_size;  ///< instead of a model
  std::optional<std::int64_t> steps;        ///< run length for total_num_steps "auto"
  bool all_keys = false;                    ///< print every key, defaults included
};

struct ConvertOptions {
  std::string input;
  std::string output;
};

// The hidden size "auto" needs: --hidden-size, else the model (--model or ds.model: a preset name,
// a Hugging Face config.json or a folder holding one).
std::optional<std::int64_t> hidden_size_of(const CheckOptions& options, const configs::Config& config) {
  if (options.hidden_size) return options.hidden_size;
  const bool from_flag = !options.model.empty();
  const std::string model = from_flag ? options.model : config.ds.model;
  if (model.empty()) return std::nullopt;
  return estimators::load_model_spec(model, from_flag ? "--model" : options.file + ": ds.model").hidden;
}

// DeepSpeed's batch world size is the data-parallel one: ranks divided by pipeline, tensor and
// sequence-parallel degrees (the ranks of a sequence-parallel group share their sequences).
int data_parallel_size(const configs::Config& config, int world_size, const std::string& source) {
  const int pp = config.pipeline.stages.value_or(1);
  const auto& tp_config = config.tensor_parallel;
  const int tp = tp_config.autotp_size > 0 ? tp_config.autotp_size : tp_config.tp_size;
  const int sp = config.sequence_parallel_size;
  if (world_size < 1 || world_size % (pp * tp * sp) != 0) {
    throw ConfigError(format_error(source,
                                   "--world-size is not a multiple of pipeline stages * tensor parallel * sequence parallel",
                                   std::to_string(world_size) + " ranks, " + std::to_string(pp) + " * " +
                                       std::to_string(tp) + " * " + std::to_string(sp),
                                   "a multiple of " + std::to_string(pp * tp * sp)));
  }
  return world_size / (pp * tp * sp);
}

void run_check(const CheckOptions& options) {
  const configs::Config input = configs::load_config(options.file);
  configs::AutoContext context;
  context.source_name = options.file;
  context.pipeline_stages = input.pipeline.stages;
  context.dp_size = data_parallel_size(input, options.world_size, options.file);
  context.total_steps = options.steps;
  if (input.has_auto()) context.hidden_size = hidden_size_of(options, input);
  configs::Config config = configs::resolve_auto(input, context);
  config = configs::with_resolved_batch(config, context.dp_size, options.file);
  const std::string text = configs::to_json(config, {.all_keys = options.all_keys, .indent = 2});
  std::fwrite(text.data(), 1, text.size(), stdout);
  log::info(options.file, ": valid; ZeRO stage ", config.zero_optimization.stage, ", ",
            configs::to_string(configs::compute_dtype(config)), ", train_batch_size ", *config.train_batch_size, " = ",
            *config.train_micro_batch_size_per_gpu, " * ", *config.gradient_accumulation_steps, " * ",
            context.dp_size, " data-parallel ranks");
}

void run_convert(const ConvertOptions& options) {
  const configs::Config config = configs::load_config(options.input);
  configs::save_config(config, options.output);
  log::info("wrote ", options.output);
}

}  // namespace

void register_config(CLI::App& app, GlobalOptions&) {
  auto* sub = app.add_subcommand("config", "Check and convert DeepSpeed JSON / TOML configs");
  sub->require_subcommand(1);

  // The options live as long as the callbacks that read them.
  auto check = std::make_shared<CheckOptions>();
  auto* check_cmd = sub->add_subcommand("check", "Validate a config, resolve \"auto\" and print it as JSON");
  check_cmd->add_option("file", check->file, "Config file (.json or .toml)")->required();
  check_cmd->add_option("--world-size", check->world_size, "Ranks in the job (default 1)")->check(CLI::PositiveNumber);
  check_cmd->add_option("--model", check->model, "Model for \"auto\" buckets: a preset, a config.json or its folder (default ds.model)");
  check_cmd->add_option("--hidden-size", check->hidden_size, "Model hidden size, instead of --model");
  check_cmd->add_option("--steps", check->steps, "Run length for scheduler total_num_steps \"auto\" (default ds.steps)");
  check_cmd->add_flag("--all", check->all_keys, "Print every key, defaults included");
  check_cmd->callback([check] { run_check(*check); });

  auto convert = std::make_shared<ConvertOptions>();
  auto* convert_cmd = sub->add_subcommand("convert", "Convert between DeepSpeed JSON and TOML (by extension), losslessly");
  convert_cmd->add_option("input", convert->input, "Config to read (.json or .toml)")->required();
  convert_cmd->add_option("output", convert->output, "Config to write (.json or .toml), atomically")->required();
  convert_cmd->callback([convert] { run_convert(*convert); });
}

}  // namespace ds::cli
