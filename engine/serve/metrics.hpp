#pragma once
// What GET /metrics reports, in Prometheus' text exposition format (version 0.0.4): request
// counts by route and status and latency histograms observed by the server, plus the engine's
// gauges and counters from Generator::stats(). Thread-safe: handlers observe concurrently.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/serve/generation.hpp"

namespace ds::engine::serve {

/// A cumulative Prometheus histogram with fixed upper bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  /// Appends `# HELP`, `# TYPE`, the _bucket lines (le="+Inf" last), _sum and _count.
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  ///< per bucket, not cumulative; the last is +Inf
  double sum_ = 0.0;
  std::uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  /// One answered request; `route` is a route of the table or "other" (keeps label values few).
  void count_request(const std::string& route, int status);
  void observe_time_to_first_token(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token_latency(double seconds) { itl_.observe(seconds); }
  void observe_e2e_latency(double seconds) { e2e_.observe(seconds); }
  /// The whole exposition: ds_requests_total{route,status}, ds_running_sequences,
  /// ds_waiting_sequences, ds_kv_cache_usage_ratio, ds_prompt_tokens_total,
  /// ds_generation_tokens_total, ds_preemptions_total and the three latency histograms.
  std::string render(const EngineStats& stats) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  Histogram ttft_;
  Histogram itl_;
  Histogram e2e_;
};

}  // namespace ds::engine::serve
