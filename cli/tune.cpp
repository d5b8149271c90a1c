// `ds tune`: rank ZeRO stage, offload and parallel layouts with the cost model, print the top-k
// table (or --json), explain the choice, and write it as a DeepSpeed config.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <memory>
#include <nlohmann/json.hpp>

#include "autotune/calibration_store.hpp"
#include "autotune/config_emitter.hpp"
#include "autotune/measure.hpp"
#include "autotune/train_runner.hpp"
#include "autotune/tune_history.hpp"
#include "autotune/tune_options.hpp"
#include "autotune/tune_report.hpp"
#include "autotune/tuner.hpp"
#include "cli/cli_context.hpp"
#include "cli/model_cluster_flags.hpp"
#include "configs/config_io.hpp"
#include "common/error.hpp"
#include "estimators/estimate_options.hpp"
#include "profiles/machine_info.hpp"
#include "profiles/profile_store.hpp"
#include "profiles/store.hpp"

namespace ds::cli {
namespace {

using namespace ds::autotune;

struct TuneFlags {
  estimators::ModelOptions model;
  estimators::ClusterOptions cluster;
  SearchFlags search;
  bool explain = false;
  std::string out;                        ///< --out: write the first plan as a config (.json or .toml)
  std::string nvme_path = "/local_nvme";  ///< --nvme-path
  std::int64_t steps = 0;                 ///< --train-steps: ds.steps of the written config
  bool no_record = false;                 ///< --no-record: leave the run out of `ds tune history`
  bool no_calibration = false;            ///< --no-calibration: price with the derived model only
  int measure = 0;                        ///< --measure K: run the top K plans through ds train
  int explore = 2;                        ///< --explore: extra picks further down the list
  std::string data;                       ///< --data: token file for the measured runs
  std::int64_t measure_steps = 6;         ///< --measure-steps
  std::string measure_dir = "runs/tune";  ///< --measure-dir
  std::string device;                     ///< --device for the measured runs
  std::string measure_stat = "mean";      ///< --measure-stat: mean | median | min of each run's steps
};

// Without --gpu or --profile: this machine's newest stored profile, if it has one (its measured
// rates), else the default preset.
void default_to_this_machine(TuneFlags& f, const GlobalOptions& global) {
  profiles::Store store(profiles::resolve_db_path(global.db_path));
  try {
    auto p = profiles::load_profile(store, "latest", profiles::read_machine_info().fingerprint());
    f.cluster.profile = std::to_string(p.id);
  } catch (const UsageError&) {
    // No profile of this machine: plan with the preset.
  }
}

// --measure: runs the picks through `ds train`, recalibrates, re-ranks; returns the report text.
MeasureReport run_measure(const TuneFlags& f, const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                          const TuneOptions& options, const TuneResult& result, const GlobalOptions& global) {
  if (f.data.empty()) {
    throw UsageError(format_error("--measure", "needs training data", "", "--data FILE (a token file)",
                                  "make one with `ds data prepare --input FILE --out data/train.bin`"));
  }
  if (f.measure_steps < 2) {
    throw UsageError(format_error("--measure-steps", "out of range", std::to_string(f.measure_steps),
                                  "2 or more (the first step warms up and is not timed)"));
  }
  profiles::Store store(profiles::resolve_db_path(global.db_path));
  TrainRunnerOptions runner_options;
  runner_options.ds_binary = std::filesystem::read_symlink("/proc/self/exe").string();
  runner_options.db_path = store.path().string();
  runner_options.run_root = f.measure_dir;
  runner_options.nproc = cluster.gpus_per_node;
  runner_options.device = f.device;
  TrainProcessRunner runner(runner_options);
  MeasureOptions m;
  m.top = f.measure;
  m.explore = f.explore;
  m.emit.model = f.model.model;
  m.emit.nvme_path = f.nvme_path;
  m.emit.steps = f.measure_steps;
  m.emit.data = f.data;
  m.machine_fingerprint = profiles::read_machine_info().fingerprint();
  m.statistic = f.measure_stat;
  return measure_plans(model, cluster, options, result, runner, store, m);
}

// The newest coefficients fitted on this machine for this cluster source, and the memory
// correction its out-of-memory trials ask for, applied to `options`; returns the lines that say
// so (empty when there are none).
std::string apply_calibration(const profiles::ClusterSpec& cluster, const GlobalOptions& global, TuneOptions& options) {
  profiles::Store store(profiles::resolve_db_path(global.db_path));
  const std::string machine = profiles::read_machine_info().fingerprint();
  std::string out;
  profiles::TrialQuery query;
  query.machine_fingerprint = machine;
  const auto memory = memory_correction(profiles::list_trials(store, query), cluster);
  options.memory_scale = memory.scale;
  if (!memory.note.empty()) out += memory.note + " (--no-calibration to ignore)\n";
  auto fit = latest_calibration(store, machine, cluster.source);
  if (!fit) return out;
  options.cost.coefficients = fit->calibration.coefficients;
  char line[200];
  std::snprintf(line, sizeof line, "calibration %lld: %d trials, step-time MAPE %.1f%% -> %.1f%% (--no-calibration to ignore)\n",
                static_cast<long long>(fit->id), fit->calibration.trials, 100 * fit->calibration.mape_before,
                100 * fit->calibration.mape_after);
  return line + out;
}

// Stores the run, its candidates and its choice (`ds tune history`); returns the run's id.
std::int64_t record(const TuneFlags& f, const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                    const TuneOptions& options, const TuneResult& result, const GlobalOptions& global) {
  profiles::Store store(profiles::resolve_db_path(global.db_path));
  TuneRunContext context;
  context.model = f.model.model.empty() ? "params=" + f.model.params : f.model.model;
  context.machine_fingerprint = profiles::read_machine_info().fingerprint();
  context.config_path = f.out;
  return record_tune_run(store, model, cluster, options, result, context);
}

// Writes the first plan as a config and says how to launch it.
std::string write_config(const TuneFlags& f, const profiles::ClusterSpec& cluster, const TuneResult& result) {
  EmitOptions emit;
  emit.model = f.model.model;
  emit.nvme_path = f.nvme_path;
  emit.steps = f.steps;
  // Absolute, so the config runs from any directory.
  if (!f.data.empty()) emit.data = std::filesystem::absolute(f.data).string();
  configs::save_config(config_from_plan(result.top.front().plan, cluster, emit), f.out);
  return launch_line(cluster, f.out, !emit.data.empty());
}

void print(const std::string& text) { std::fputs(text.c_str(), stdout); }

void run_tune(TuneFlags f, const GlobalOptions& global) {
  estimators::ModelSpec model = estimators::resolve_model(f.model);
  profiles::ClusterSpec cluster = estimators::resolve_cluster(f.cluster);
  f.search.seq_len = f.model.seq;
  TuneOptions options = resolve_tune_options(f.search, model, cluster);
  const std::string calibrated = f.no_calibration ? "" : apply_calibration(cluster, global, options);
  const TuneResult first = tune(model, cluster, options);
  std::optional<MeasureReport> measured;
  if (f.measure > 0) {
    measured = run_measure(f, model, cluster, options, first, global);
    if (measured->calibration) options.cost.coefficients = measured->calibration->coefficients;
  }
  // What is written and stored is the ranking after measuring, when there was any.
  const TuneResult& result = measured ? measured->reranked : first;
  const std::string launch = f.out.empty() ? "" : write_config(f, cluster, result);
  const std::int64_t run_id = f.no_record ? 0 : record(f, model, cluster, options, result, global);
  if (global.json) {
    auto j = tune_json(model, cluster, options, result);
    if (run_id > 0) j["run_id"] = run_id;
    if (measured) j["measured"] = measure_json(*measured);
    if (!launch.empty()) j["config"] = {{"path", f.out}, {"launch", launch}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  print(calibrated + render_tune(model, cluster, options, first));
  if (measured) {
    print(render_measure(*measured) + "\nre-ranked with the new coefficients:\n" +
          render_tune(model, cluster, options, result));
  }
  if (f.explain) print(render_explain(result, options.objective));
  if (!launch.empty()) {
    print("\nwrote " + f.out + " (plan #1); check it with:\n  ds config check --world-size " +
          std::to_string(cluster.world_size()) + " " + f.out + "\nrun it with:\n  " + launch + "\n");
  }
}

void add_search_flags(CLI::App* sub, SearchFlags& s) {
  sub->add_option("--stages", s.stages, "ZeRO stages to search (default 0,1,2,3)");
  sub->add_option("--offload-optimizer", s.offload_optimizer, "Optimizer offload to search (default none,cpu,nvme)");
  sub->add_option("--offload-param", s.offload_param, "Parameter offload to search, stage 3 (default none,cpu,nvme)");
  sub->add_option("--micro-batch", s.micro_batches, "Micro-batches to search (default 1,2,4,8,16)");
  sub->add_option("--grad-accum", s.grad_accums, "Gradient accumulation steps to search (default 1)");
  sub->add_option("--global-batch", s.global_batch, "Sequences per optimizer step; sets the accumulation of each plan");
  sub->add_option("--checkpointing", s.checkpointing, "Activation checkpointing to search (default none,selective,full)");
  sub->add_option("--dtype", s.dtypes, "Precisions to search (default bf16)");
  sub->add_option("--bucket-sizes", s.bucket_sizes, "Reduce/all-gather bucket elements to search (default 5e7,2e8,5e8)");
  sub->add_option("--max-tp", s.max_tp, "Largest tensor-parallel degree (default: a node)");
  sub->add_option("--max-pp", s.max_pp, "Largest pipeline degree (default: the layers)");
  sub->add_option("--max-sp", s.max_sp,
                  "Largest DeepSpeed-Ulysses sequence-parallel degree (default 1: not searched; 0: a node)")
      ->capture_default_str();
  sub->add_option("--optimizer", s.optimizer, "adam | adamw | sgd | sgd-momentum")->capture_default_str();
  sub->add_option("--engine", s.engine,
                  "ds | deepspeed | auto: whose engine runs the plans (auto: ds on a measured profile, deepspeed "
                  "with --gpu)")
      ->capture_default_str();
  sub->add_option("--objective", s.objective, "throughput | memory | cost")->capture_default_str();
  sub->add_option("--top", s.top_k, "Plans to show")->capture_default_str();
}

void register_history(CLI::App* tune_cmd, GlobalOptions& global) {
  auto id = std::make_shared<std::int64_t>(0);
  auto limit = std::make_shared<int>(20);
  auto* sub = tune_cmd->add_subcommand("history", "Stored tuning runs; with --id, one run's ranked candidates");
  sub->add_option("--id", *id, "Show this run's candidates");
  sub->add_option("--limit", *limit, "Runs to list, newest first (0: all)")->capture_default_str();
  sub->callback([id, limit, &global] {
    if (*limit < 0) throw UsageError(format_error("--limit", "out of range", std::to_string(*limit), "0 (all) or more"));
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    if (*id == 0) {
      auto runs = list_tune_runs(store, *limit);
      if (!global.json) return print(render_history(runs));
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : runs) out.push_back(history_json(r));
      return print(out.dump(2) + "\n");
    }
    auto run = find_tune_run(store, *id);
    if (!run) {
      throw UsageError(format_error("--id", "no such tuning run", std::to_string(*id), "an id from `ds tune history`"));
    }
    global.json ? print(history_json(*run).dump(2) + "\n") : print(render_run(*run));
  });
}

struct CalibrateFlags {
  estimators::ClusterOptions cluster;
  int min_trials = CalibrationOptions{}.min_trials;
  bool dry_run = false;
};

void run_calibrate(const CalibrateFlags& f, const GlobalOptions& global) {
  profiles::ClusterSpec cluster = estimators::resolve_cluster(f.cluster);
  profiles::Store store(profiles::resolve_db_path(global.db_path));
  const std::string machine = profiles::read_machine_info().fingerprint();
  profiles::TrialQuery query;
  query.machine_fingerprint = machine;
  std::vector<SkippedTrial> skipped;
  auto samples = samples_from_trials(profiles::list_trials(store, query), cluster, {}, &skipped);
  CalibrationOptions options;
  options.min_trials = f.min_trials;
  Calibration fit = calibrate(samples, CostCoefficients{}, options);
  const std::int64_t id = f.dry_run ? 0 : save_calibration(store, machine, cluster.source, fit);
  if (global.json) return print(calibration_json(fit, id, cluster.source).dump(2) + "\n");
  print(render_calibration(samples, fit, cluster.source));
  if (!skipped.empty()) print(std::to_string(skipped.size()) + " trials not used (first: " + skipped.front().reason + ")\n");
  if (id > 0) print("stored as calibration " + std::to_string(id) + "; `ds tune` with the same cluster flags uses it\n");
}

void register_calibrate(CLI::App* tune_cmd, GlobalOptions& global) {
  auto f = std::make_shared<CalibrateFlags>();
  auto* sub = tune_cmd->add_subcommand("calibrate", "Fit the cost model's per-term coefficients to this machine's measured trials");
  add_cluster_flags(sub, f->cluster);
  sub->add_option("--min-trials", f->min_trials, "Refuse to fit from fewer trials")->capture_default_str();
  sub->add_flag("--dry-run", f->dry_run, "Fit and report without storing");
  sub->callback([f, &global] {
    auto flags = *f;
    flags.cluster.db_path = global.db_path;
    run_calibrate(flags, global);
  });
}

}  // namespace

void register_tune(CLI::App& app, GlobalOptions& global) {
  auto f = std::make_shared<TuneFlags>();
  auto* cmd = app.add_subcommand("tune", "Rank ZeRO stage, offload and parallel layouts with a cost model");
  add_model_flags(cmd, f->model);
  add_cluster_flags(cmd, f->cluster);
  add_search_flags(cmd, f->search);
  cmd->add_flag("--explain", f->explain, "Say why the first plan beat the next ones, term by term");
  cmd->add_option("--out", f->out, "Write the first plan as a DeepSpeed config (.json or .toml) for `ds train`");
  cmd->add_option("--nvme-path", f->nvme_path, "NVMe offload directory written into the config")->capture_default_str();
  cmd->add_option("--train-steps", f->steps, "ds.steps of the written config (0: unset)");
  cmd->add_option("--measure", f->measure, "Run the top K plans for a few steps through ds train, recalibrate, re-rank");
  cmd->add_option("--explore", f->explore, "With --measure: extra plans picked further down the top list")->capture_default_str();
  cmd->add_option("--data", f->data, "Token file (`ds data prepare`): --measure trains on it; --out writes it as ds.data");
  cmd->add_option("--measure-steps", f->measure_steps, "With --measure: steps per run (the first is not timed)")
      ->capture_default_str();
  cmd->add_option("--measure-dir", f->measure_dir, "With --measure: run directories go here")->capture_default_str();
  cmd->add_option("--device", f->device, "With --measure: cpu | cuda (ds train's --device)");
  cmd->add_option("--measure-stat", f->measure_stat, "With --measure: a run's step time is the mean, median or min of its steps")
      ->capture_default_str();
  cmd->add_flag("--no-calibration", f->no_calibration, "Ignore coefficients fitted by `ds tune calibrate`");
  cmd->add_flag("--no-record", f->no_record, "Do not store this run in the database (`ds tune history`)");
  cmd->callback([cmd, f, &global] {
    if (!cmd->get_subcommands().empty()) return;
    f->cluster.db_path = global.db_path;
    if (cmd->get_option("--gpu")->count() == 0 && f->cluster.profile.empty()) default_to_this_machine(*f, global);
    run_tune(*f, global);
  });
  register_history(cmd, global);
  register_calibrate(cmd, global);
}

}  // namespace ds::cli
