// ServerMetrics: the Prometheus text exposition, checked line by line.
#include "engine/serve/metrics.hpp"

#include <gtest/gtest.h>

namespace ds::engine::serve {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(Histogram, CumulativeBucketsSumAndCount) {
  Histogram h({0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(5.0);
  std::string out;
  h.render(out, "x_seconds", "X.");
  EXPECT_EQ(out,
            "# HELP x_seconds X.\n# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"0.1\"} 1\nx_seconds_bucket{le=\"1\"} 3\n"
            "x_seconds_bucket{le=\"+Inf\"} 4\nx_seconds_sum 6.05\nx_seconds_count 4\n");
}

TEST(ServerMetrics, RendersEngineNumbersAndRequestCounts) {
  ServerMetrics m;
  m.count_request("/v1/completions", 200);
  m.count_request("/v1/completions", 200);
  m.count_request("other", 404);
  const std::string out = m.render(EngineStats{.running = 2,
                                               .waiting = 5,
                                               .kv_blocks_total = 8,
                                               .kv_blocks_used = 2,
                                               .preemptions = 1,
                                               .prompt_tokens = 100,
                                               .generated_tokens = 30});
  EXPECT_TRUE(has_line(out, "ds_requests_total{route=\"/v1/completions\",status=\"200\"} 2")) << out;
  EXPECT_TRUE(has_line(out, "ds_requests_total{route=\"other\",status=\"404\"} 1"));
  EXPECT_TRUE(has_line(out, "# TYPE ds_running_sequences gauge"));
  EXPECT_TRUE(has_line(out, "ds_running_sequences 2"));
  EXPECT_TRUE(has_line(out, "ds_waiting_sequences 5"));
  EXPECT_TRUE(has_line(out, "ds_kv_cache_usage_ratio 0.25"));
  EXPECT_TRUE(has_line(out, "ds_prompt_tokens_total 100"));
  EXPECT_TRUE(has_line(out, "ds_generation_tokens_total 30"));
  EXPECT_TRUE(has_line(out, "ds_preemptions_total 1"));
  EXPECT_TRUE(has_line(out, "# TYPE ds_time_to_first_token_seconds histogram"));
  EXPECT_TRUE(has_line(out, "ds_inter_token_latency_seconds_bucket{le=\"+Inf\"} 0"));
  EXPECT_TRUE(has_line(out, "ds_e2e_request_latency_seconds_count 0"));
}

}  // namespace
}  // namespace ds::engine::serve
