// `ds bench`: named performance suites, stored runs and baselines, and a regression verdict for
// CI (exit 3). The framework is bench/ (torch-free); this file parses flags and prints.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "bench/bench_case.hpp"
#include "bench/bench_store.hpp"
#include "bench/compare.hpp"
#include "bench/core_cases.hpp"
#include "bench/history.hpp"
#include "bench/output.hpp"
#include "bench/runner.hpp"
#include "cli/cli_context.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/progress.hpp"
#include "common/suggest.hpp"
#include "profiles/machine_info.hpp"
#include "profiles/store.hpp"

namespace ds::cli {
namespace {

struct Cases {
  bench::Registry registry;
  bool engine_linked = false;
};

Cases all_cases() {
  Cases c;
  bench::register_core_cases(c.registry);
  bench::register_engine_case_names(c.registry);
  c.engine_linked = add_engine_bench_cases(c.registry);
  return c;
}

void print(const std::string& text) { std::fputs(text.c_str(), stdout); }
void print(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

/// What picks cases and how long each runs (run and compare share them).
struct SelectFlags {
  std::vector<std::string> suites;  ///< empty: every suite
  std::string filter;               ///< comma-separated patterns over "suite/case"
  bench::StopRule rule;
  double inject_slowdown = 1;       ///< test-only
};

void add_select_flags(CLI::App* sub, SelectFlags& f) {
  sub->add_option("suites", f.suites, "Suites to run (default: all; see `ds bench list`)");
  sub->add_option("--filter", f.filter, "Only cases whose 'suite/case' name matches: comma-separated, '*' wildcards");
  sub->add_option("--warmup", f.rule.warmup_runs, "Samples thrown away first, per case")->capture_default_str();
  sub->add_option("--min-samples", f.rule.min_samples, "Samples before a case may stop early")->capture_default_str();
  sub->add_option("--max-samples", f.rule.max_samples, "Samples at most, per case")->capture_default_str();
  sub->add_option("--max-time", f.rule.max_time_s, "Seconds at most per case, warm-up included, setup not")->capture_default_str();
  sub->add_option("--target-ci", f.rule.target_rel_ci,
                  "Stop once the 95% confidence interval half width is below this fraction of the mean")
      ->capture_default_str();
  // Test-only: lets CI check that a slow-down is caught. Hidden from --help.
  sub->add_option("--inject-slowdown", f.inject_slowdown, "TEST ONLY: multiply time samples by this factor")
      ->group("");
}

void check_rule(const bench::StopRule& rule) {
  if (rule.warmup_runs < 0 || rule.min_samples < 1 || rule.max_samples < 1 || !(rule.max_time_s > 0) ||
      !(rule.target_rel_ci > 0)) {
    throw UsageError(format_error("ds bench", "stopping rule out of range",
                                  "--warmup " + std::to_string(rule.warmup_runs) + " --min-samples " +
                                      std::to_string(rule.min_samples) + " --max-samples " +
                                      std::to_string(rule.max_samples),
                                  "--warmup >= 0, --min-samples and --max-samples >= 1, --max-time and --target-ci > 0"));
  }
}

std::string selection_text(const SelectFlags& f) {
  std::string text;
  for (const auto& s : f.suites) text += (text.empty() ? "" : " ") + s;
  if (text.empty()) text = "all";
  if (!f.filter.empty()) text += " --filter " + f.filter;
  return text;
}

/// Runs the selected cases and stores the run; hands over to ds-engine when one needs LibTorch.
bench::BenchRun run_and_store(const SelectFlags& f, profiles::Store& store, const GlobalOptions& global) {
  check_rule(f.rule);
  const Cases cases = all_cases();
  const auto picked = cases.registry.select(f.suites, f.filter);
  for (const auto* c : picked) {
    if (!c->prepare && !cases.engine_linked) hand_bench_to_engine(global);
  }
  bench::RunOptions options;
  options.rule = f.rule;
  options.inject_slowdown = f.inject_slowdown;
  options.context.db_path = store.path().string();
  options.selection = selection_text(f);
  Progress::Options progress_options;
  progress_options.enabled = !global.json && !global.quiet;
  Progress progress("ds bench", picked.size(), progress_options);
  options.on_case = [&](std::size_t i, std::size_t, const std::string& name) { progress.update(i, name); };
  bench::BenchRun run = bench::run_cases(picked, options);
  progress.finish();
  run.id = bench::save_run(store, run);
  if (auto stored = bench::load_run(store, run.id)) run.created_at = stored->created_at;
  return run;
}

void register_list(CLI::App& bench, GlobalOptions& global) {
  auto f = std::make_shared<SelectFlags>();
  auto* sub = bench.add_subcommand("list", "List the suites and their cases");
  sub->add_option("suites", f->suites, "Only these suites");
  sub->add_option("--filter", f->filter, "Only cases whose 'suite/case' name matches: comma-separated, '*' wildcards");
  sub->callback([f, &global] {
    Cases cases = all_cases();
    bench::Registry shown;
    for (const auto* c : cases.registry.select(f->suites, f->filter)) shown.add(*c);
    global.json ? print(bench::case_list_json(shown, cases.engine_linked))
                : print(bench::render_case_list(shown, cases.engine_linked));
  });
}

void register_run(CLI::App& bench, GlobalOptions& global) {
  struct RunFlags {
    SelectFlags select;
    std::string save_baseline;
  };
  auto f = std::make_shared<RunFlags>();
  auto* sub = bench.add_subcommand("run", "Run suites and store the results (median, spread, every sample)");
  add_select_flags(sub, f->select);
  sub->add_option("--save-baseline", f->save_baseline, "Also store this run as baseline NAME (e.g. main)");
  sub->callback([f, &global] {
    if (!f->save_baseline.empty() && f->select.inject_slowdown != 1) {
      throw UsageError(format_error("--save-baseline", "a run with an injected slowdown cannot be a baseline",
                                    "--inject-slowdown " + std::to_string(f->select.inject_slowdown), "no --inject-slowdown"));
    }
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    bench::BenchRun run = run_and_store(f->select, store, global);
    if (!f->save_baseline.empty()) bench::save_baseline(store, f->save_baseline, run.id);
    if (global.json) {
      auto j = bench::run_json(run);
      j["baseline"] = f->save_baseline;
      return print(j);
    }
    print(bench::render_run(run));
    if (!f->save_baseline.empty()) print("saved as baseline '" + f->save_baseline + "'\n");
  });
}

void register_compare(CLI::App& bench, GlobalOptions& global) {
  struct CompareFlags {
    SelectFlags select;
    std::string baseline;
    std::string run;  ///< a stored run id or "latest" instead of running again
    bench::CompareOptions options;
    std::string junit, markdown;
  };
  auto f = std::make_shared<CompareFlags>();
  auto* sub = bench.add_subcommand(
      "compare", "Run again (or take a stored run) and compare with a baseline; exit 3 when a case regressed");
  add_select_flags(sub, f->select);
  sub->add_option("--baseline", f->baseline, "Baseline name saved by `ds bench run --save-baseline`")->required();
  sub->add_option("--run", f->run, "Compare this stored run (an id, or 'latest') instead of running again");
  sub->add_option("--alpha", f->options.alpha, "Significance level of the Mann-Whitney U test")->capture_default_str();
  sub->add_option("--min-effect", f->options.min_effect,
                  "Smallest relative change that counts, e.g. 0.05 = 5% (time and throughput cases)")
      ->capture_default_str();
  sub->add_option("--junit", f->junit, "Also write a JUnit XML report here (one testcase per case)");
  sub->add_option("--markdown", f->markdown, "Also write a markdown summary here (e.g. $GITHUB_STEP_SUMMARY)");
  sub->callback([f, &global] {
    bench::validate(f->options);
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    // Before running for minutes, make sure the baseline exists.
    auto baseline = bench::baseline_runs(store, f->baseline);
    if (baseline.empty()) bench::compare_runs(f->baseline, baseline, {}, {}, f->options, bench::baseline_names(store));
    bench::BenchRun now;
    if (f->run.empty()) {
      now = run_and_store(f->select, store, global);
    } else {
      std::optional<std::int64_t> id;
      if (f->run == "latest") id = bench::latest_run_id(store, profiles::read_machine_info().fingerprint());
      else {
        try {
          id = std::stoll(f->run);
        } catch (const std::exception&) {
        }
      }
      std::optional<bench::BenchRun> stored;
      if (id) stored = bench::load_run(store, *id);
      if (!stored) {
        throw UsageError(format_error("--run", "no stored bench run", f->run, "a run id from `ds bench run` or 'latest'"));
      }
      now = std::move(*stored);
      if (!f->select.suites.empty() || !f->select.filter.empty()) {
        const Cases cases = all_cases();
        const auto picked = cases.registry.select(f->select.suites, f->select.filter);
        std::erase_if(now.results, [&](const bench::CaseResult& r) {
          return std::none_of(picked.begin(), picked.end(), [&](const bench::BenchCase* c) { return c->name == r.name; });
        });
      }
    }
    const Cases cases = all_cases();
    auto tolerance = [&cases](const std::string& name) {
      const auto* c = cases.registry.find(name);
      return c ? c->tolerance : 0.0;
    };
    const auto cmp = bench::compare_runs(f->baseline, baseline, now, tolerance, f->options);
    if (!f->junit.empty()) write_file_atomic(f->junit, bench::comparison_junit(cmp));
    if (!f->markdown.empty()) write_file_atomic(f->markdown, bench::comparison_markdown(cmp));
    global.json ? print(bench::comparison_json(cmp)) : print(bench::render_comparison(cmp));
    if (cmp.regressed()) {
      std::string names;
      for (const auto& c : cmp.cases) {
        if (c.verdict == bench::Verdict::kRegression) names += (names.empty() ? "" : ", ") + c.name;
      }
      throw Error(format_error("ds bench compare", std::to_string(cmp.count(bench::Verdict::kRegression)) +
                                                       " case(s) regressed against baseline '" + f->baseline +
                                                       "': " + names),
                  ExitCode::kRegression);
    }
  });
}

void register_history(CLI::App& bench, GlobalOptions& global) {
  struct HistoryFlags {
    std::string case_name, svg;
    bool all_machines = false;
    int limit = 0;
  };
  auto f = std::make_shared<HistoryFlags>();
  auto* sub = bench.add_subcommand("history", "Stored results of one case over time; --svg writes a plot");
  sub->add_option("case", f->case_name, "Case name 'suite/case' (see `ds bench list`)")->required();
  sub->add_option("--svg", f->svg, "Also write an SVG line chart of the medians here");
  sub->add_flag("--all-machines", f->all_machines, "Results from every machine (default: this machine's)");
  sub->add_option("--limit", f->limit, "Only the newest N runs")->check(CLI::NonNegativeNumber);
  sub->callback([f, &global] {
    const Cases cases = all_cases();
    if (cases.registry.find(f->case_name) == nullptr) {
      std::vector<std::string> names;
      for (const auto& c : cases.registry.cases()) names.push_back(c.name);
      throw UsageError(format_error("ds bench history", "unknown case '" + f->case_name + "'", "",
                                    "a 'suite/case' name from `ds bench list`") +
                       did_you_mean(f->case_name, names));
    }
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    const auto points = bench::case_history(
        store, f->case_name, f->all_machines ? "" : profiles::read_machine_info().fingerprint(), f->limit);
    if (!f->svg.empty()) bench::write_history_svg(f->svg, f->case_name, points);
    global.json ? print(bench::history_json(f->case_name, points)) : print(bench::render_history(f->case_name, points));
  });
}

void register_report(CLI::App& bench, GlobalOptions& global) {
  auto output = std::make_shared<std::string>();
  auto* sub = bench.add_subcommand("report", "The numbers section of docs/performance.md from this machine's stored results");
  sub->add_option("--output", *output, "Replace the generated section of this markdown file (default: print it)");
  sub->callback([output, &global] {
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    const std::string section = bench::performance_section(store, profiles::read_machine_info().fingerprint());
    if (output->empty()) return print(section);
    std::string document;
    if (std::filesystem::exists(*output)) document = read_file(*output);
    write_file_atomic(*output, bench::splice_section(document, section));
    print("wrote the ds bench section of " + *output + "\n");
  });
}

}  // namespace

void register_bench(CLI::App& app, GlobalOptions& global) {
  auto* bench = app.add_subcommand("bench", "Performance suites with stored baselines and a regression verdict");
  bench->require_subcommand(1);
  register_list(*bench, global);
  register_run(*bench, global);
  register_compare(*bench, global);
  register_history(*bench, global);
  register_report(*bench, global);
}

}  // namespace ds::cli
