#include "bench/compare.hpp"

#include <cmath>
#include <cstdio>

#include "bench/statistics.hpp"
#include "common/error.hpp"
#include "common/suggest.hpp"

namespace ds::bench {
namespace {

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", (ratio - 1) * 100);
  return buf;
}

std::string p_text(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, p < 1e-4 ? "p=%.1e" : "p=%.4f", p);
  return buf;
}

// Exact comparison within a tolerance: bytes and accuracy are deterministic. Bytes take it as a
// fraction of the baseline; accuracy (an error near 0, a count) as an absolute amount in its unit.
void judge_exact(CaseComparison& c, double tolerance) {
  const double base = *c.baseline_median;
  const double diff = c.now_median - base;
  const bool relative = c.kind == Kind::kBytes;
  const double allowed = (relative ? tolerance * std::fabs(base) : tolerance) + 1e-12 * std::max(1.0, std::fabs(base));
  char amount[64];
  std::snprintf(amount, sizeof amount, "%g", tolerance);
  const std::string tolerance_text = relative ? percent(1 + tolerance).substr(1) : std::string(amount) + " " + c.unit;
  c.effect = c.ratio;
  if (std::fabs(diff) <= allowed) {
    c.verdict = Verdict::kUnchanged;
    c.note = tolerance > 0 ? "within " + tolerance_text : "exact";
    return;
  }
  const bool worse = c.higher_is_better ? diff < 0 : diff > 0;
  c.verdict = worse ? Verdict::kRegression : Verdict::kImprovement;
  c.note = (tolerance > 0 ? "beyond " + tolerance_text : std::string("not exact")) + ", " + percent(c.ratio);
}

// Rank test over the samples and a minimum effect: both must hold.
void judge_statistical(CaseComparison& c, const CaseResult& baseline, const CaseResult& now,
                       const CompareOptions& options) {
  const auto test = mann_whitney_u(baseline.samples, now.samples);
  c.p_value = test.p_value;
  // Two estimates of the change: Hodges-Lehmann over all pairs and the ratio of medians. Load
  // from other processes skews time samples to the right, which moves the two apart; the verdict
  // takes the one nearer to no change, so noise alone rarely clears the minimum effect.
  const double hl = hodges_lehmann_ratio(baseline.samples, now.samples);
  c.effect = std::fabs(std::log(hl)) < std::fabs(std::log(c.ratio)) ? hl : c.ratio;
  // The change in the bad direction as a fraction: +0.2 = 20% slower (or 20% less throughput).
  const double worse_by = c.higher_is_better ? 1 / c.effect - 1 : c.effect - 1;
  const bool significant = test.p_value < options.alpha;
  c.note = p_text(test.p_value) + ", " + percent(c.effect);
  if (significant && worse_by >= options.min_effect) {
    c.verdict = Verdict::kRegression;
  } else if (significant && -worse_by >= options.min_effect / (1 + options.min_effect)) {
    // symmetric in ratio terms: 5% slower is 1.05x, 5% faster is 1/1.05x
    c.verdict = Verdict::kImprovement;
  } else {
    c.verdict = Verdict::kUnchanged;
    if (!significant) c.note += " (not significant)";
    else c.note += " (below min effect)";
  }
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kUnchanged: return "unchanged";
    case Verdict::kRegression: return "regression";
    case Verdict::kImprovement: return "improvement";
    case Verdict::kNoBaseline: return "no baseline";
    case Verdict::kOtherMachine: return "other machine";
  }
  return "";
}

bool Comparison::regressed() const { return count(Verdict::kRegression) > 0; }

int Comparison::count(Verdict v) const {
  int n = 0;
  for (const auto& c : cases) n += c.verdict == v ? 1 : 0;
  return n;
}

void validate(const CompareOptions& options) {
  if (!(options.alpha > 0 && options.alpha < 1)) {
    throw UsageError(format_error("--alpha", "significance level out of range", std::to_string(options.alpha),
                                  "a number between 0 and 1, e.g. 0.01"));
  }
  if (!(options.min_effect >= 0)) {
    throw UsageError(format_error("--min-effect", "negative minimum effect", std::to_string(options.min_effect),
                                  "a fraction >= 0, e.g. 0.05 for 5%"));
  }
}

CaseComparison compare_case(const CaseResult* baseline, const CaseResult& now, double tolerance,
                            const CompareOptions& options) {
  CaseComparison c;
  c.name = now.name;
  c.kind = now.kind;
  c.unit = now.unit;
  c.higher_is_better = now.higher_is_better;
  c.now_median = now.median;
  c.now_runs = now.runs;
  if (baseline == nullptr) {
    c.verdict = Verdict::kNoBaseline;
    c.note = "not in the baseline";
    return c;
  }
  c.baseline_median = baseline->median;
  c.baseline_runs = baseline->runs;
  c.ratio = baseline->median != 0 ? now.median / baseline->median : (now.median == 0 ? 1.0 : INFINITY);
  if (machine_bound(now.kind) && c.ratio > 0 && std::isfinite(c.ratio)) judge_statistical(c, *baseline, now, options);
  else judge_exact(c, tolerance);
  return c;
}

Comparison compare_runs(const std::string& baseline_name, const std::vector<BenchRun>& baseline,
                        const BenchRun& now, const std::function<double(const std::string&)>& tolerance_of,
                        const CompareOptions& options, const std::vector<std::string>& known_baselines) {
  validate(options);
  if (baseline.empty()) {
    std::string known;
    for (const auto& k : known_baselines) known += (known.empty() ? "" : ", ") + k;
    throw UsageError(format_error("--baseline", "no stored baseline named '" + baseline_name + "'", "",
                                  known.empty() ? "a name saved with `ds bench run SUITE --save-baseline NAME`"
                                                : "one of: " + known,
                                  "save one first with `ds bench run SUITE --save-baseline " + baseline_name + "`") +
                     did_you_mean(baseline_name, known_baselines));
  }
  Comparison cmp;
  cmp.baseline_name = baseline_name;
  cmp.machine_fingerprint = now.machine_fingerprint;
  cmp.now_run_id = now.id;
  cmp.options = options;
  cmp.skipped = now.skipped;
  for (const auto& result : now.results) {
    const CaseResult* found = nullptr;
    const BenchRun* from = nullptr;
    bool elsewhere = false;  // the case is in the baseline, but only from other machines
    for (const auto& run : baseline) {  // newest first
      const CaseResult* r = run.find(result.name);
      if (r == nullptr) continue;
      if (machine_bound(result.kind) && run.machine_fingerprint != now.machine_fingerprint) {
        elsewhere = true;
        continue;
      }
      found = r;
      from = &run;
      break;
    }
    CaseComparison c = compare_case(found, result, tolerance_of ? tolerance_of(result.name) : 0.0, options);
    if (found == nullptr && elsewhere) {
      c.verdict = Verdict::kOtherMachine;
      c.note = "baseline only from other machines";
    }
    if (from != nullptr) c.baseline_run_id = from->id;
    cmp.cases.push_back(std::move(c));
  }
  return cmp;
}

}  // namespace ds::bench
