#include "bench/runner.hpp"

#include <chrono>

#include "bench/statistics.hpp"
#include "common/build_info.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "profiles/machine_info.hpp"

namespace ds::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

nlohmann::json machine_json(const profiles::MachineInfo& m) {
  return {{"cpu_model", m.cpu_model}, {"cpu_cores", m.cpu_cores}, {"cpu_threads", m.cpu_threads},
          {"memory_bytes", m.memory_bytes}, {"simd", m.simd}, {"gpu_driver", m.gpu_driver}};
}

}  // namespace

double seconds_per_op(int iterations, const std::function<void()>& op) {
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) op();
  return seconds_since(start) / iterations;
}

CaseResult run_case(const BenchCase& c, const CaseContext& context, const StopRule& rule, double inject_slowdown) {
  if (!c.prepare) {
    throw UsageError(format_error("ds bench", "case '" + c.name + "' needs LibTorch, which this ds lacks", "",
                                  "ds-engine", "run it through a ds built with the engine"));
  }
  SampleFn sample = c.prepare(context);
  const auto start = Clock::now();  // the cap is on sampling: setup (building a model) is not timed
  const bool deterministic = c.max_samples == 1;
  for (int i = 0; i < (deterministic || c.own_warmup ? 0 : rule.warmup_runs); ++i) sample();
  CaseResult r;
  r.name = c.name;
  r.suite = c.suite;
  r.kind = c.kind;
  r.unit = c.unit;
  r.higher_is_better = c.higher_is_better();
  std::optional<StopReason> stop;
  while (!stop) {
    double value = sample();
    if (c.kind == Kind::kTime) value *= inject_slowdown;
    if (c.kind == Kind::kThroughput) value /= inject_slowdown;
    r.samples.push_back(value);
    stop = should_stop(r.samples, seconds_since(start), rule, c.max_samples);
  }
  r.stop_reason = stop_reason_name(*stop);
  r.runs = static_cast<int>(r.samples.size());
  r.median = median(r.samples);
  r.spread = iqr(r.samples);
  r.elapsed_s = seconds_since(start);
  return r;
}

BenchRun run_cases(const std::vector<const BenchCase*>& cases, const RunOptions& options) {
  if (!(options.inject_slowdown > 0)) {
    throw UsageError(format_error("--inject-slowdown", "factor must be positive",
                                  std::to_string(options.inject_slowdown), "e.g. 1.5 for 50% slower"));
  }
  BenchRun run;
  const auto& build = build_info();
  run.ds_version = build.version;
  run.git_commit = build.git_commit;
  run.build_type = build.build_type;
  const auto machine = profiles::read_machine_info();
  run.machine_fingerprint = machine.fingerprint();
  run.machine = machine_json(machine);
  run.selection = options.selection;
  run.injected_slowdown = options.inject_slowdown;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const BenchCase& c = *cases[i];
    if (options.on_case) options.on_case(i, cases.size(), c.name);
    try {
      run.results.push_back(run_case(c, options.context, options.rule, options.inject_slowdown));
      const auto& r = run.results.back();
      log::debug("bench: ", c.name, ": median ", r.median, " ", r.unit, " over ", r.runs, " samples (", r.stop_reason,
                 ")");
    } catch (const CaseSkipped& skipped) {
      log::debug("bench: ", c.name, " skipped: ", skipped.what());
      run.skipped.push_back({c.name, skipped.what()});
    }
  }
  return run;
}

}  // namespace ds::bench
