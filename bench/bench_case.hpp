#pragma once
// A benchmark case of `ds bench` and the registry of named suites that holds them.
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::bench {

/// What a case measures, which decides how two results of it are compared.
enum class Kind {
  kTime,        ///< seconds per operation, lower is better; rank test, same machine only
  kThroughput,  ///< items per second (tokens/s), higher is better; rank test, same machine only
  kBytes,       ///< peak bytes, lower is better; exact (within tolerance), any machine
  kAccuracy,    ///< an error or a count (estimator error, greedy tokens); exact within tolerance, any machine
};

/// "time" | "throughput" | "bytes" | "accuracy".
const char* kind_name(Kind kind);
/// Inverse of kind_name; throws RuntimeError for anything else (a corrupt row).
Kind parse_kind(const std::string& name);
/// Time and throughput depend on the machine: they compare only with the same fingerprint.
bool machine_bound(Kind kind);

/// What a case's prepare step gets: where the database is (the estimate suite reads trials).
struct CaseContext {
  std::string db_path;  ///< resolved SQLite path; empty in tests that need none
};

/// One sample of a case in its unit (seconds per op, tokens/s, bytes, error). Called repeatedly.
using SampleFn = std::function<double()>;

/// Thrown by a case's prepare step when it cannot run here (no trials stored, no GPU); the run
/// reports the reason and goes on. Not an error: the case is left out of the stored run.
class CaseSkipped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A benchmark with fixed seeds and sizes. `prepare` does the setup once (building inputs from
/// fixed seeds) and returns the function that takes one sample.
struct BenchCase {
  std::string suite;        ///< "kernels" | "train" | "estimate" | "tune" | "serve" | "core"
  std::string name;         ///< full name "suite/case", unique
  std::string description;  ///< one line for `ds bench list`
  Kind kind = Kind::kTime;
  std::string unit;         ///< "s", "tokens/s", "bytes", "rel error", "tokens"
  /// What still counts as unchanged (0 = exact): kBytes |now - baseline| <= tolerance * |baseline|;
  /// kAccuracy |now - baseline| <= tolerance, in the case's unit (errors sit near 0).
  double tolerance = 0;
  int max_samples = 0;      ///< 0: the run's stopping rule decides; 1 for deterministic cases
  bool needs_engine = false;  ///< needs LibTorch: runs only in ds-engine
  /// Setup; null for an engine case as the light ds knows it (name and description only).
  std::function<SampleFn(const CaseContext&)> prepare;
  /// The case drops its own warm-up (e.g. the first steps of each training run): the runner's
  /// warm-up samples are not taken.
  bool own_warmup = false;

  bool higher_is_better() const { return kind == Kind::kThroughput; }
};

/// The known cases, in registration order (suite by suite).
class Registry {
 public:
  /// Adds a case; throws RuntimeError for a duplicate name or one not prefixed by its suite.
  void add(BenchCase c);
  /// Replaces the light stand-in of an engine case with the real one (same name), or adds it.
  void add_or_replace(BenchCase c);
  const std::vector<BenchCase>& cases() const { return cases_; }
  /// Suite names in registration order.
  std::vector<std::string> suites() const;
  const BenchCase* find(const std::string& name) const;

  /// The cases of `suites` (all when empty) whose full name matches `filter`: comma-separated
  /// patterns, '*' matching any run of characters, a pattern without '*' matching anywhere in the
  /// name. Throws UsageError naming the unknown suite (with "did you mean") or the filter that
  /// matched nothing.
  std::vector<const BenchCase*> select(const std::vector<std::string>& suites, const std::string& filter) const;

 private:
  std::vector<BenchCase> cases_;
};

/// True when `name` matches one of the comma-separated patterns of `filter` (empty: everything).
bool matches_filter(const std::string& name, const std::string& filter);

}  // namespace ds::bench
