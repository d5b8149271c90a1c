// `ds train`: one rank in this process (alone, or started by torchrun/srun/mpirun or by our own
// launcher), or the launcher itself with --nproc / --hostfile / --no-ssh.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/cli_context.hpp"
#include "common/log.hpp"
#include "common/progress.hpp"
#include "common/svg_chart.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/launch/launcher.hpp"
#include "engine/train/train_setup.hpp"
#include "engine/train/train_trial.hpp"
#include "engine/train/trainer.hpp"
#include "profiles/store.hpp"

namespace ds::cli {
namespace {

using engine::train::StepMetrics;
using engine::train::TrainSummary;

struct TrainFlags {
  std::string config;
  std::vector<std::string> sets;
  // Named shortcuts for the keys users change most; each becomes a --set.
  std::string model, data, eval_data, out, dtype;
  std::optional<std::int64_t> steps, seq, micro_batch, grad_accum, save_every, seed, print_every, eval_every;
  std::optional<int> zero_stage;
  std::optional<double> lr, clip;
  bool resume = true;
  CLI::Option* resume_flag = nullptr;  ///< counts whether --resume/--no-resume was given
  std::string device;
  std::string json_log;
  std::string plot;
  launch::LauncherFlags launcher;
};

std::vector<configs::Override> overrides_of(const TrainFlags& f) {
  std::vector<configs::Override> out;
  auto add = [&out](const char* key, const std::string& value) { out.push_back({key, value}); };
  auto quoted = [](const std::string& s) { return nlohmann::json(s).dump(); };
  if (!f.model.empty()) add("ds.model", quoted(f.model));
  if (!f.data.empty()) add("ds.data", quoted(f.data));
  if (!f.eval_data.empty()) add("ds.eval_data", quoted(f.eval_data));
  if (f.eval_every) add("ds.eval_every", std::to_string(*f.eval_every));
  if (!f.out.empty()) add("ds.run_dir", quoted(f.out));
  if (!f.dtype.empty()) add("ds.dtype", quoted(f.dtype));
  if (f.steps) add("ds.steps", std::to_string(*f.steps));
  if (f.seq) add("ds.seq_len", std::to_string(*f.seq));
  if (f.save_every) add("ds.save_every", std::to_string(*f.save_every));
  if (f.seed) add("ds.seed", std::to_string(*f.seed));
  if (f.resume_flag != nullptr && f.resume_flag->count() > 0) add("ds.resume", f.resume ? "true" : "false");
  if (f.print_every) add("steps_per_print", std::to_string(*f.print_every));
  if (f.zero_stage) add("zero_optimization.stage", std::to_string(*f.zero_stage));
  if (f.lr) add("optimizer.params.lr", nlohmann::json(*f.lr).dump());
  if (f.clip) add("gradient_clipping", nlohmann::json(*f.clip).dump());
  if (f.micro_batch || f.grad_accum) {
    // A micro-batch or accumulation given on the command line replaces the config's batch
    // triple; the rule then derives train_batch_size for the data-parallel size.
    add("train_batch_size", "null");
    if (f.micro_batch) add("train_micro_batch_size_per_gpu", std::to_string(*f.micro_batch));
    if (f.grad_accum) add("gradient_accumulation_steps", std::to_string(*f.grad_accum));
  }
  for (const auto& s : f.sets) out.push_back(configs::parse_override(s));
  return out;
}

std::string step_line(const StepMetrics& m, std::int64_t total_steps) {
  char buf[320];
  std::snprintf(buf, sizeof buf, "step %lld/%lld | loss %.4f | lr %.3e | grad norm %.3f | %s tok/s | %.3f s/step",
                static_cast<long long>(m.step), static_cast<long long>(total_steps), m.loss, m.lr, m.grad_norm,
                format_thousands(static_cast<std::uint64_t>(std::llround(m.tokens_per_s))).c_str(), m.step_time_s);
  std::string line = buf;
  if (m.loss_scale != 1.0) {
    std::snprintf(buf, sizeof buf, " | loss scale %g", m.loss_scale);
    line += buf;
  }
  if (m.mfu > 0) {
    std::snprintf(buf, sizeof buf, " | MFU %.1f%%", 100 * m.mfu);
    line += buf;
  }
  line += " | peak " + format_bytes(static_cast<double>(m.peak_bytes));
  if (m.eval_loss) {
    std::snprintf(buf, sizeof buf, " | eval loss %.4f (ppl %.2f)", *m.eval_loss, std::exp(*m.eval_loss));
    line += buf;
  }
  if (!m.event.empty()) line += " | " + m.event;
  return line;
}

void write_plot(const std::string& path, const std::vector<StepMetrics>& steps, const TrainSummary& summary,
                const std::string& title) {
  ChartSeries loss{"training loss", {}, {}};
  ChartSeries peak{"measured peak", {}, {}};
  ChartSeries predicted{"estimator's prediction", {}, {}};
  for (const auto& m : steps) {
    double x = static_cast<double>(m.step);
    loss.x.push_back(x);
    loss.y.push_back(m.skipped ? NAN : m.loss);
    peak.x.push_back(x);
    peak.y.push_back(static_cast<double>(m.peak_bytes));
    predicted.x.push_back(x);
    predicted.y.push_back(summary.predicted_peak_bytes);
  }
  write_svg_chart(path, title, "step",
                  {ChartPanel{"Loss", "cross-entropy", "", {loss}},
                   ChartPanel{"Memory per rank (live tensor bytes)", "peak", "bytes", {peak, predicted}}});
}

void print_summary(const TrainSummary& s, const engine::train::TrainerOptions& o, std::optional<std::int64_t> trial,
                   bool json) {
  if (json) {
    nlohmann::ordered_json j;
    j["first_step"] = s.first_step;
    j["last_step"] = s.last_step;
    j["final_loss"] = std::isfinite(s.final_loss) ? nlohmann::ordered_json(s.final_loss) : nlohmann::ordered_json();
    j["final_eval_loss"] = s.final_eval_loss ? nlohmann::ordered_json(*s.final_eval_loss) : nlohmann::ordered_json();
    j["mean_step_time_s"] = s.mean_step_time_s;
    j["tokens_per_s"] = s.tokens_per_s;
    j["mfu"] = s.mfu;
    j["peak_bytes"] = s.peak_bytes;
    j["predicted_peak_bytes"] = s.predicted_peak_bytes;
    j["offload_bytes"] = s.offload_bytes;
    j["predicted_offload_bytes"] = s.predicted_offload_bytes;
    j["nvme_bytes"] = s.nvme_bytes;
    j["predicted_nvme_bytes"] = s.predicted_nvme_bytes;
    j["memory"] = s.memory;
    j["skipped_steps"] = s.skipped_steps;
    j["checkpoint"] = s.checkpoint.string();
    j["run_dir"] = o.run_dir.string();
    j["trial_id"] = trial ? nlohmann::ordered_json(*trial) : nlohmann::ordered_json();
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  Table t({"run", "result"}, {Table::Align::kLeft, Table::Align::kRight});
  t.add_row({"steps", std::to_string(s.first_step) + " -> " + std::to_string(s.last_step)});
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", s.final_loss);
  t.add_row({"final loss", buf});
  if (s.final_eval_loss) {
    std::snprintf(buf, sizeof buf, "%.4f (ppl %.2f)", *s.final_eval_loss, std::exp(*s.final_eval_loss));
    t.add_row({"eval loss", buf});
  }
  t.add_row({"tokens/s", format_thousands(static_cast<std::uint64_t>(std::llround(s.tokens_per_s)))});
  std::snprintf(buf, sizeof buf, "%.3f s", s.mean_step_time_s);
  t.add_row({"step time (mean after the first)", buf});
  if (s.mfu > 0) {
    std::snprintf(buf, sizeof buf, "%.1f%%", 100 * s.mfu);
    t.add_row({"MFU", buf});
  }
  t.add_row({"peak tensor memory (measured)", format_bytes(static_cast<double>(s.peak_bytes))});
  if (s.predicted_peak_bytes > 0) {
    std::snprintf(buf, sizeof buf, " (%.2fx measured)", s.predicted_peak_bytes / std::max<double>(1, s.peak_bytes));
    t.add_row({"peak tensor memory (estimator)", format_bytes(s.predicted_peak_bytes) + buf});
  }
  // The offload tiers (host buffers, NVMe swap files): what the estimator's CPU and NVMe columns price.
  auto add_tier = [&](const std::string& what, std::int64_t measured, double predicted) {
    if (measured <= 0) return;
    t.add_row({what + " (measured)", format_bytes(static_cast<double>(measured))});
    std::snprintf(buf, sizeof buf, " (%.2fx measured)", predicted / static_cast<double>(measured));
    t.add_row({what + " (estimator)", format_bytes(predicted) + buf});
  };
  add_tier("offloaded to CPU memory", s.offload_bytes, s.predicted_offload_bytes);
  add_tier("swapped to NVMe", s.nvme_bytes, s.predicted_nvme_bytes);
  if (s.skipped_steps > 0) t.add_row({"skipped steps (overflow)", std::to_string(s.skipped_steps)});
  t.add_row({"checkpoint", s.checkpoint.empty() ? "-" : s.checkpoint.string()});
  if (trial) t.add_row({"trial", "#" + std::to_string(*trial)});
  std::printf("%s", t.render().c_str());
}

void run_rank(const TrainFlags& flags, const GlobalOptions& global) {
  engine::train::TrainSetup setup;
  setup.config_path = flags.config;
  setup.overrides = overrides_of(flags);
  setup.db_path = profiles::resolve_db_path(global.db_path);
  setup.device = flags.device;

  // Join the job first: the batch rule needs the data-parallel size.
  comm::CommOptions comm_options = comm::options_from_environment();
  setup.world_size = comm_options.env.world_size;
  setup.local_rank = comm_options.env.local_rank;
  engine::train::TrainerOptions options = engine::train::make_trainer_options(setup);
  if (!flags.json_log.empty()) options.json_log = flags.json_log;
  std::unique_ptr<comm::Communicator> comm;
  if (setup.world_size > 1) {
    comm_options = comm::options_from_environment(std::chrono::seconds(options.config.ds.comm_timeout_s), options.device);
    // Under torchrun/srun the lines are not prefixed for us; under our launcher they are.
    if (std::getenv(launch::kLauncherEnv) == nullptr) log::set_tag("[rank " + std::to_string(comm_options.env.rank) + "] ");
    comm = std::make_unique<comm::Communicator>(comm_options);
    options.comm = comm.get();
  }
  const bool rank0 = comm == nullptr || comm->rank() == 0;

  engine::train::Trainer trainer(options);
  if (rank0) {
    log::info("training ", options.model_name, " on ", options.device.str(), " x ", setup.world_size, ": ",
              options.micro_batch, " x ", options.seq_len, " tokens x ", options.grad_accum, " accumulation x ",
              setup.world_size, " ranks per step, to step ", options.steps,
              trainer.resumed_from().empty() ? std::string() : " (resumed from " + trainer.resumed_from() + ")");
  }
  const bool show = rank0 && !global.json && !global.quiet;
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::optional<Progress> bar;
  if (show && tty) {
    bar.emplace("train", static_cast<std::size_t>(options.steps));
    bar->update(static_cast<std::size_t>(trainer.global_step()));
  }
  const std::int64_t every = std::max(1, options.config.steps_per_print);
  std::vector<StepMetrics> history;
  TrainSummary summary = trainer.run([&](const StepMetrics& m) {
    history.push_back(m);
    if (bar) {
      char note[160];
      std::snprintf(note, sizeof note, "loss %.4f  %s tok/s", m.loss,
                    format_thousands(static_cast<std::uint64_t>(std::llround(m.tokens_per_s))).c_str());
      bar->update(static_cast<std::size_t>(m.step), note);
    } else if (show && (m.step % every == 0 || m.step == options.steps || m.eval_loss)) {
      log::info(step_line(m, options.steps));
    }
    if (bar && !m.event.empty()) log::info("step ", m.step, ": ", m.event);
    if (bar && m.eval_loss) log::info("step ", m.step, ": eval loss ", *m.eval_loss);
  });
  if (bar) bar->finish();
  if (!rank0) return;

  std::optional<std::int64_t> trial;
  try {
    trial = engine::train::store_trial(setup.db_path,
                                       engine::train::make_train_trial(options, summary, setup.world_size));
  } catch (const Error& e) {
    // The run itself succeeded; a read-only or locked store must not turn it into a failure.
    log::warn("could not record the trial in ", setup.db_path.string(), ": ", e.what());
  }
  if (!flags.plot.empty()) {
    write_plot(flags.plot, history, summary, "ds train: " + options.model_name);
    log::info("wrote ", flags.plot);
  }
  print_summary(summary, options, trial, global.json);
}

}  // namespace

void register_train(CLI::App& app, GlobalOptions& global) {
  auto f = std::make_shared<TrainFlags>();
  auto* sub = app.add_subcommand("train", "Train a model with ZeRO, offload and mixed precision (DeepSpeed configs)");
  sub->add_option("--config,--deepspeed_config", f->config, "DeepSpeed JSON or TOML config")->check(CLI::ExistingFile);
  sub->add_option("--set", f->sets, "Override a config key, e.g. --set zero_optimization.stage=2 (repeatable)");
  sub->add_option("--model", f->model, "Preset or HF config.json (ds.model; default ds-tiny)");
  sub->add_option("--data", f->data, "Token file from `ds data prepare` (ds.data)");
  sub->add_option("--eval-data", f->eval_data, "Token file to evaluate on (ds.eval_data)");
  sub->add_option("--eval-every", f->eval_every, "Evaluate every N steps and at the end (ds.eval_every)");
  sub->add_option("--steps", f->steps, "Train until this optimizer step (ds.steps)");
  sub->add_option("--out", f->out, "Run directory: checkpoints, metrics.jsonl, ds_config.json (ds.run_dir)");
  sub->add_option("--seq", f->seq, "Tokens per sample (ds.seq_len; default: the model's context)");
  sub->add_option("--micro-batch", f->micro_batch, "train_micro_batch_size_per_gpu");
  sub->add_option("--grad-accum", f->grad_accum, "gradient_accumulation_steps");
  sub->add_option("--lr", f->lr, "optimizer.params.lr");
  sub->add_option("--clip", f->clip, "gradient_clipping (max global norm; 0 = off)");
  sub->add_option("--zero-stage", f->zero_stage, "zero_optimization.stage (0-3)");
  sub->add_option("--dtype", f->dtype, "ds.dtype: fp32 | bf16 | fp16");
  sub->add_option("--seed", f->seed, "ds.seed");
  sub->add_option("--save-every", f->save_every, "Checkpoint every N steps (ds.save_every; 0 = at the end)");
  sub->add_option("--print-every", f->print_every, "steps_per_print");
  f->resume_flag = sub->add_flag("--resume,!--no-resume", f->resume, "Continue from the newest checkpoint in the run directory (default)");
  sub->add_option("--device", f->device, "cpu | cuda | cuda:N (default: CUDA when available)");
  sub->add_option("--json-log", f->json_log, "One JSON line per step (default: <out>/metrics.jsonl)");
  sub->add_option("--plot", f->plot, "Write an SVG of loss and memory over the steps at the end");
  auto& l = f->launcher;
  sub->add_option("--nproc", l.nproc, "Start N local ranks (data parallel)");
  sub->add_option("--hostfile", l.hostfile, "DeepSpeed hostfile ('host slots=N'); start ranks on every node over ssh");
  sub->add_option("--include", l.include, "Hosts/slots to use from the hostfile, e.g. node1:0,1@node2");
  sub->add_option("--exclude", l.exclude, "Hosts/slots to leave out");
  sub->add_flag("--no-ssh", l.no_ssh, "Start only this node's ranks (one launcher per node, e.g. under Slurm)");
  sub->add_option("--node-rank", l.node_rank, "This node's index (with --no-ssh)");
  sub->add_option("--world-layout", l.world_layout, "Ranks per node, e.g. 4,4 (with --no-ssh, instead of --hostfile)");
  sub->add_option("--master-addr", l.master_addr, "Host of rank 0's rendezvous");
  sub->add_option("--master-port", l.master_port, "Port of rank 0's rendezvous");
  sub->callback([f, &global] {
    if (launch::wants_launcher(f->launcher)) {
      std::vector<std::string> args;
      for (char** a = global.argv; a != nullptr && *a != nullptr; ++a) args.emplace_back(*a);
      // Ranks run this very executable (ds-engine), whatever name the user typed.
      if (!args.empty()) args[0] = std::filesystem::read_symlink("/proc/self/exe").string();
      launch::run_launcher(f->launcher, launch::without_launcher_flags(args));
      return;
    }
    run_rank(*f, global);
  });
}

}  // namespace ds::cli
