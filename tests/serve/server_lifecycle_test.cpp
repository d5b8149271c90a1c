// The server's /metrics against a real request, and its graceful shutdown: health turns 503, new
// requests are refused, running streams finish within the grace period or are cancelled.
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/serve/server_fixture.hpp"

namespace ds::engine::serve::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A sample line of the Prometheus text format: name, optional {label="value",...}, a number.
const std::regex kSample(
    R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? ([-+]?[0-9.eE+-]+|\+Inf|NaN))");

std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, kSample)) << "not Prometheus text: " << line;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST_F(ServerTest, MetricsParseAsPrometheusText) {
  start();
  ASSERT_EQ(post("/v1/completions", R"({"prompt": "abcd"})")->status, 200);
  ASSERT_EQ(get("/nope")->status, 404);
  // The count is taken after the response went out: give it a moment.
  std::map<std::string, double> s;
  for (int i = 0; i < 50; ++i) {
    const auto r = get("/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    s = samples(r->body);
    if (s.count("ds_requests_total{route=\"other\",status=\"404\"}")) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(s["ds_requests_total{route=\"/v1/completions\",status=\"200\"}"], 1);
  EXPECT_EQ(s["ds_requests_total{route=\"other\",status=\"404\"}"], 1);
  EXPECT_EQ(s["ds_running_sequences"], 1);
  EXPECT_EQ(s["ds_waiting_sequences"], 2);
  EXPECT_EQ(s["ds_kv_cache_usage_ratio"], 0.25);
  EXPECT_EQ(s["ds_prompt_tokens_total"], 40);
  EXPECT_EQ(s["ds_generation_tokens_total"], 50);
  EXPECT_EQ(s["ds_preemptions_total"], 3);
  EXPECT_EQ(s["ds_time_to_first_token_seconds_count"], 1);
  EXPECT_EQ(s["ds_time_to_first_token_seconds_bucket{le=\"+Inf\"}"], 1);
  EXPECT_EQ(s["ds_inter_token_latency_seconds_count"], 3);  // 4 tokens, 3 gaps
  EXPECT_EQ(s["ds_e2e_request_latency_seconds_count"], 1);
  EXPECT_TRUE(s.count("ds_e2e_request_latency_seconds_bucket{le=\"0.3\"}"));
}

std::future<httplib::Result> stream_in_background(int port, const std::string& body) {
  return std::async(std::launch::async, [port, body] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    return c.Post("/v1/completions", body, "application/json");
  });
}

TEST_F(ServerTest, StopLetsRunningStreamsFinishAndRefusesNewRequests) {
  start(ServerOptions{.shutdown_grace_s = 20});
  generator.delay_ms = 10;
  auto running = stream_in_background(
      server->port(), R"({"prompt": ")" + std::string(80, 'x') + R"(", "max_tokens": 80, "stream": true})");
  ASSERT_TRUE([&] {
    for (int i = 0; i < 100 && generator.submitted == 0; ++i) std::this_thread::sleep_for(10ms);
    return generator.submitted == 1;
  }());
  auto stopping = std::async(std::launch::async, [&] { server->stop(); });
  std::this_thread::sleep_for(100ms);
  const auto health = get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  const auto refused = post("/v1/completions", R"({"prompt": "x"})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(parse(refused->body)["error"]["message"], "server: shutting down; hint: retry on another replica");
  const auto r = running.get();
  ASSERT_TRUE(r);
  const auto events = sse_data(r->body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(parse(events[events.size() - 2])["choices"][0]["finish_reason"], "length");
  stopping.get();
  EXPECT_EQ(generator.cancelled, 0);
  EXPECT_FALSE(get("/health"));  // the listener is closed
}

TEST_F(ServerTest, StopCancelsStreamsStillRunningAfterTheGracePeriod) {
  start(ServerOptions{.shutdown_grace_s = 0.2});
  generator.delay_ms = 20;
  auto running = stream_in_background(
      server->port(), R"({"prompt": ")" + std::string(300, 'x') + R"(", "max_tokens": 300, "stream": true})");
  for (int i = 0; i < 100 && generator.submitted == 0; ++i) std::this_thread::sleep_for(10ms);
  const auto begin = std::chrono::steady_clock::now();
  server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);  // not the 6 s the stream wanted
  const auto r = running.get();
  ASSERT_TRUE(r);
  const auto events = sse_data(r->body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(parse(events[events.size() - 2])["choices"][0]["finish_reason"], "abort");
  EXPECT_EQ(generator.cancelled, 1);
}

TEST(HttpServer, RunBlocksUntilStop) {
  FakeGenerator generator;
  HttpServer server(generator, fake_model(), ServerOptions{.port = 0});
  std::thread serving([&] { server.run(); });
  for (int i = 0; i < 200 && server.port() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GT(server.port(), 0);
  httplib::Client c("127.0.0.1", server.port());
  const auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  server.stop();
  serving.join();  // run() returned
  server.stop();   // idempotent
}

TEST(HttpServer, BusyPortIsARuntimeErrorNamingIt) {
  FakeGenerator generator;
  HttpServer first(generator, fake_model(), ServerOptions{.port = 0});
  first.start();
  HttpServer second(generator, fake_model(), ServerOptions{.port = first.port()});
  try {
    second.start();
    ADD_FAILURE() << "bound a busy port";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "--host/--port: cannot listen (got 127.0.0.1:" + std::to_string(first.port()) +
                                         "); hint: is another server on that port? choose another with --port (0 "
                                         "= any free)");
  }
}

}  // namespace
}  // namespace ds::engine::serve::test
