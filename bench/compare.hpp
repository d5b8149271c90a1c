#pragma once
// The verdict of `ds bench compare`: per case, baseline against now, by a rank test over the
// samples and a minimum effect size (time, throughput) or exactly within a tolerance (bytes,
// accuracy).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_store.hpp"

namespace ds::bench {

/// Knobs of the verdict. Both must hold for a regression: the two-sided Mann-Whitney U test over
/// the samples gives p < alpha, and both the Hodges-Lehmann ratio and the ratio of medians are
/// at least min_effect in the bad direction. The defaults are for CI, where a false alarm costs a
/// person's time: over 1000 pairs of runs of one build with 15% log-normal timing noise and 30
/// samples each, 0.2% of pairs were flagged, while a 20% slow-down was caught in 83% of them
/// (99% at 5% noise, 100% with 100 samples); alpha 0.01 catches more (97%) but raises false
/// alarms to 1.1% (tests/bench/compare_test.cpp, docs/bench.md).
struct CompareOptions {
  double alpha = 0.001;      ///< significance level of the two-sided Mann-Whitney U test
  double min_effect = 0.05;  ///< smallest relative change that counts (0.05 = 5%)
};

enum class Verdict {
  kUnchanged,
  kRegression,
  kImprovement,
  kNoBaseline,    ///< the baseline has no result for this case
  kOtherMachine,  ///< a time case whose baseline comes only from other machines: not compared
};
const char* verdict_name(Verdict v);  ///< "unchanged" | "regression" | "improvement" | "no baseline" | "other machine"

/// One case compared.
struct CaseComparison {
  std::string name;
  Kind kind = Kind::kTime;
  std::string unit;
  bool higher_is_better = false;
  std::optional<double> baseline_median;
  double now_median = 0;
  double ratio = 1;                 ///< now median / baseline median (1 without a baseline)
  /// The change the verdict judges: of the Hodges-Lehmann now/baseline ratio and the ratio of
  /// medians, the one nearer to 1 (time, throughput); = ratio otherwise
  double effect = 1;
  std::optional<double> p_value;    ///< rank test p (time, throughput)
  int baseline_runs = 0, now_runs = 0;
  std::int64_t baseline_run_id = 0;
  Verdict verdict = Verdict::kNoBaseline;
  std::string note;                 ///< why, in a few words ("p=0.0003, +21%", "exact", "different machine")
};

/// The whole comparison.
struct Comparison {
  std::string baseline_name;
  std::string machine_fingerprint;  ///< of the current run
  std::int64_t now_run_id = 0;
  CompareOptions options;
  std::vector<CaseComparison> cases;
  std::vector<SkippedCase> skipped;

  bool regressed() const;
  int count(Verdict v) const;
};

/// Compares one case. `tolerance` is the case's (BenchCase::tolerance) for bytes and accuracy.
CaseComparison compare_case(const CaseResult* baseline, const CaseResult& now, double tolerance,
                            const CompareOptions& options);

/// Compares every result of `now` with the newest baseline run that has the case: from the same
/// machine fingerprint for time and throughput, from any machine for bytes and accuracy.
/// `tolerance_of(name)` gives a case's tolerance (0 when unknown). Throws UsageError naming the
/// baseline (with the known names) when `baseline` is empty.
Comparison compare_runs(const std::string& baseline_name, const std::vector<BenchRun>& baseline,
                        const BenchRun& now, const std::function<double(const std::string&)>& tolerance_of,
                        const CompareOptions& options, const std::vector<std::string>& known_baselines = {});

/// Throws UsageError for alpha outside (0, 1) or a negative min effect, naming the flag.
void validate(const CompareOptions& options);

}  // namespace ds::bench
