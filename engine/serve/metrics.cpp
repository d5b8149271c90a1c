#include "engine/serve/metrics.hpp"

#include <charconv>

namespace ds::engine::serve {
namespace {

// The shortest text that reads back as the same double ("0.1", "2.5", "6.05"), as Prometheus'
// own clients write numbers.
std::string number(double x) {
  char buf[40];
  const auto end = std::to_chars(buf, buf + sizeof buf, x).ptr;
  return std::string(buf, end);
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void scalar(std::string& out, const std::string& name, const std::string& help, const char* type, double value) {
  header(out, name, help, type);
  out += name + " " + number(value) + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::lock_guard lock(mutex_);
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  std::lock_guard lock(mutex_);
  header(out, name, help, "histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

// Bucket bounds as vLLM's metrics use them, so dashboards built for vLLM read ds alike.
ServerMetrics::ServerMetrics()
    : ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}),
      itl_({0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}),
      e2e_({0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0}) {}

void ServerMetrics::count_request(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
}

std::string ServerMetrics::render(const EngineStats& stats) const {
  std::string out;
  header(out, "ds_requests_total", "HTTP requests answered, by route and status.", "counter");
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : requests_) {
      out += "ds_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
             std::to_string(count) + "\n";
    }
  }
  scalar(out, "ds_running_sequences", "Sequences holding KV-cache blocks.", "gauge",
         static_cast<double>(stats.running));
  scalar(out, "ds_waiting_sequences", "Sequences admitted but not yet running (or preempted).", "gauge",
         static_cast<double>(stats.waiting));
  const double usage = stats.kv_blocks_total > 0
                           ? static_cast<double>(stats.kv_blocks_used) / static_cast<double>(stats.kv_blocks_total)
                           : 0.0;
  scalar(out, "ds_kv_cache_usage_ratio", "Fraction of KV-cache blocks in use (0 to 1).", "gauge", usage);
  scalar(out, "ds_prompt_tokens_total", "Prompt tokens processed since start.", "counter",
         static_cast<double>(stats.prompt_tokens));
  scalar(out, "ds_generation_tokens_total", "Tokens generated since start.", "counter",
         static_cast<double>(stats.generated_tokens));
  scalar(out, "ds_preemptions_total", "Sequences preempted to free KV-cache blocks since start.", "counter",
         static_cast<double>(stats.preemptions));
  ttft_.render(out, "ds_time_to_first_token_seconds", "Time from request arrival to its first token.");
  itl_.render(out, "ds_inter_token_latency_seconds", "Time between two tokens of one request.");
  e2e_.render(out, "ds_e2e_request_latency_seconds", "Time from request arrival to its last token.");
  return out;
}

}  // namespace ds::engine::serve
