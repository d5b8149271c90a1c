#include "autotune/train_runner.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autotune/tune_report.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "configs/config_io.hpp"

namespace ds::autotune {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of("\n\r ");
  if (end == std::string::npos) return "";
  auto begin = text.find_last_of('\n', end);
  return text.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
}

// Under `--nproc`, the launcher prefixes each line of a rank with "[rank N] ".
std::string without_rank_tags(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("[rank ", 0) == 0) {
      auto close = line.find("] ");
      if (close != std::string::npos) line = line.substr(close + 2);
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

MeasuredRun parse_train_output(int exit_code, const std::string& tagged_out, const std::string& err) {
  MeasuredRun run;
  const std::string out = without_rank_tags(tagged_out);
  if (exit_code == 0) {
    // The summary is the one JSON object on stdout (ds train --json).
    auto begin = out.find('{');
    auto j = begin == std::string::npos ? nlohmann::json() : nlohmann::json::parse(out.substr(begin), nullptr, false);
    if (j.is_object() && j.value("mean_step_time_s", 0.0) > 0) {
      run.step_time_s = j["mean_step_time_s"].get<double>();
      run.tokens_per_s = j.value("tokens_per_s", 0.0);
      if (j["trial_id"].is_number_integer()) run.trial_id = j["trial_id"].get<std::int64_t>();
      return run;
    }
    run.status = "failed";
    run.error = "no step time in ds train's summary";
    return run;
  }
  const bool oom = err.find("out of memory") != std::string::npos || err.find("OutOfMemory") != std::string::npos ||
                   err.find("bad_alloc") != std::string::npos || exit_code == 137;
  run.status = oom ? "oom" : "failed";
  run.error = last_line(err);
  if (run.error.empty()) run.error = "exit code " + std::to_string(exit_code);
  return run;
}

MeasuredRun TrainProcessRunner::run(const configs::Config& config, const estimators::Plan& plan, int index) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(options_.run_root) / ("measure-" + std::to_string(index));
  fs::remove_all(dir);
  fs::create_directories(dir);
  configs::Config c = config;
  c.ds.run_dir = dir.string();
  c.ds.resume = false;
  c.provenance.set_keys.insert("ds.run_dir");
  const fs::path config_path = dir / "ds_config.json";
  configs::save_config(c, config_path);
  const fs::path err_path = dir / "stderr.txt";
  std::string command = shell_quote(options_.ds_binary) + " --db " + shell_quote(options_.db_path) + " --json train --config " +
                        shell_quote(config_path.string()) + " --nproc " + std::to_string(options_.nproc);
  if (!options_.device.empty()) command += " --device " + shell_quote(options_.device);
  command += " 2>" + shell_quote(err_path.string());
  log::info("measuring ", plan_label(plan), " (", config_path.string(), ")");
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw RuntimeError(format_error("ds tune --measure", "cannot start ds train", command));
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  std::ifstream err_file(err_path);
  std::stringstream err;
  err << err_file.rdbuf();
  MeasuredRun run = parse_train_output(code, out, err.str());
  // Every step's time, from the run's metrics.jsonl (the first step warms up and is left out).
  std::ifstream metrics(dir / "metrics.jsonl");
  bool first = true;
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("step_time_s") || !j["step_time_s"].is_number()) continue;
    if (!first) run.step_times_s.push_back(j["step_time_s"].get<double>());
    first = false;
  }
  return run;
}

}  // namespace ds::autotune
