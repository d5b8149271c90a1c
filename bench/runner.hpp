#pragma once
// Runs cases: warm-up, samples until the stopping rule says enough, median and spread.
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_case.hpp"
#include "bench/bench_store.hpp"
#include "bench/stopping_rule.hpp"

namespace ds::bench {

/// Knobs of one `ds bench run`.
struct RunOptions {
  StopRule rule;
  /// Test-only (--inject-slowdown): time samples are multiplied and throughput samples divided
  /// by this factor, so CI can check that a slow-down is detected. 1 = a real run.
  double inject_slowdown = 1;
  CaseContext context;
  std::string selection;  ///< the suites and filter as asked, stored with the run
  /// Called before each case (index, total, name), e.g. to draw a progress bar.
  std::function<void(std::size_t, std::size_t, const std::string&)> on_case;
};

/// Samples one case (prepare once, warm up, repeat until should_stop). Lets CaseSkipped through.
CaseResult run_case(const BenchCase& c, const CaseContext& context, const StopRule& rule, double inject_slowdown = 1);

/// Runs `cases` in order and fills a BenchRun with this build's version and commit and this
/// machine's fingerprint (not yet saved). A case that throws CaseSkipped is listed in
/// `skipped`; any other error propagates. Throws UsageError for an injected slowdown <= 0.
BenchRun run_cases(const std::vector<const BenchCase*>& cases, const RunOptions& options);

/// Seconds per call of `op` over `iterations` calls (one sample of a time case).
double seconds_per_op(int iterations, const std::function<void()>& op);

}  // namespace ds::bench
