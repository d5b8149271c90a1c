#pragma once
// What `ds bench` prints: terminal tables, JSON, and for CI a JUnit XML report and a markdown
// summary for pull-request comments.
#include <nlohmann/json.hpp>
#include <string>

#include "bench/bench_case.hpp"
#include "bench/bench_store.hpp"
#include "bench/compare.hpp"

namespace ds::bench {

/// A value in its unit for people: "1.23 ms", "45.6 k tokens/s", "12.34 GiB", "0.0123 rel error".
std::string format_value(double value, const std::string& unit);

/// `ds bench list`: suite, case, kind, unit, description; engine cases marked in a light ds.
std::string render_case_list(const Registry& registry, bool engine_linked);
nlohmann::json case_list_json(const Registry& registry, bool engine_linked);

/// `ds bench run`: per case median, spread, samples and why it stopped.
std::string render_run(const BenchRun& run);
nlohmann::json run_json(const BenchRun& run);

/// `ds bench compare`: per case baseline, now, ratio, verdict and why; a last line with the counts.
std::string render_comparison(const Comparison& cmp);
nlohmann::json comparison_json(const Comparison& cmp);
/// JUnit XML: one <testsuite> "ds bench", one <testcase> per case (classname = suite), a
/// <failure> for each regression, <skipped> for cases without a comparable baseline.
std::string comparison_junit(const Comparison& cmp);
/// A markdown table for a PR comment, regressions first, with the thresholds used.
std::string comparison_markdown(const Comparison& cmp);

}  // namespace ds::bench
