// The server on a real loopback port with a fake Generator, through cpp-httplib's client: every
// route, errors in OpenAI's shape, auth, SSE framing, mid-stream errors, client disconnects.
// Metrics and shutdown are in server_lifecycle_test.cpp.
#include <thread>

#include "tests/serve/server_fixture.hpp"

namespace ds::engine::serve::test {
namespace {

using json = nlohmann::json;

void expect_error(const httplib::Result& r, int status, const std::string& message, const std::string& type,
                  const json& param = nullptr) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, status);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  const json body = parse(r->body);
  EXPECT_EQ(body["error"]["message"], message);
  EXPECT_EQ(body["error"]["type"], type);
  EXPECT_EQ(body["error"]["param"], param);
  EXPECT_TRUE(body["error"].contains("code"));
}

TEST_F(ServerTest, Completion) {
  start();
  const auto r = post("/v1/completions", R"({"model": "fake-model", "prompt": "Hello", "max_tokens": 3})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json body = parse(r->body);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["model"], "fake-model");
  EXPECT_EQ(body["choices"][0]["text"], "Hel");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"], parse(R"({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})"));
  EXPECT_EQ(generator.last_request.sampling.stop_token_ids, std::vector<std::uint32_t>{0});  // the model's EOS
}

TEST_F(ServerTest, CompletionFromTokenIdsWithLogprobs) {
  start();
  const auto r = post("/v1/completions", R"({"prompt": [72, 105], "logprobs": 1, "ignore_eos": true})");
  ASSERT_TRUE(r);
  const json body = parse(r->body);
  EXPECT_EQ(body["choices"][0]["text"], "Hi");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["choices"][0]["logprobs"]["tokens"], parse(R"(["H", "i"])"));
  EXPECT_EQ(body["choices"][0]["logprobs"]["top_logprobs"][0], parse(R"({"H": -0.5, "a": -1.0})"));
  EXPECT_TRUE(generator.last_request.sampling.stop_token_ids.empty());
}

TEST_F(ServerTest, ChatCompletion) {
  start();
  const auto r = post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "Hi"}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json body = parse(r->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(body["choices"][0]["message"], parse(R"({"role": "assistant", "content": "user: Hi\n"})"));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  // No max_tokens: the rest of the context.
  EXPECT_EQ(generator.last_request.sampling.max_tokens, 4096 - 9);
}

TEST_F(ServerTest, ModelsAndHealth) {
  start();
  const auto models = get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(parse(models->body),
            parse(R"({"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 1700000000,
                      "owned_by": "ds", "max_model_len": 4096}]})"));
  const auto health = get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(parse(health->body), parse(R"({"status": "ok"})"));
}

TEST_F(ServerTest, ApiKeyGuardsV1RoutesOnly) {
  start(ServerOptions{.api_key = "sekret"});
  const std::string missing =
      "Authorization header: missing; expected \"Bearer <api key>\"; hint: send the key the server was started "
      "with (DS_API_KEY)";
  expect_error(get("/v1/models"), 401, missing, "authentication_error");
  expect_error(post("/v1/completions", R"({"prompt": "x"})"), 401, missing, "authentication_error");
  expect_error(get("/v1/models", {{"Authorization", "Bearer wrong"}}), 401,
               "Authorization header: wrong API key; expected \"Bearer <api key>\"; hint: send the key the server "
               "was started with (DS_API_KEY)",
               "authentication_error");
  const auto ok = get("/v1/models", {{"Authorization", "Bearer sekret"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(get("/health")->status, 200);
  EXPECT_EQ(get("/metrics")->status, 200);
}

TEST_F(ServerTest, UnknownRouteWrongMethodTooLarge) {
  start(ServerOptions{.max_body_bytes = 100});
  expect_error(get("/v2/nothing"), 404,
               "route: not found (got GET /v2/nothing); expected POST /v1/completions, POST /v1/chat/completions, "
               "GET /v1/models, GET /health, GET /metrics",
               "invalid_request_error");
  expect_error(get("/v1/completions"), 405, "/v1/completions: method not allowed (got GET); expected POST",
               "invalid_request_error");
  expect_error(post("/health", "{}"), 405, "/health: method not allowed (got POST); expected GET",
               "invalid_request_error");
  expect_error(post("/v1/completions", R"({"prompt": ")" + std::string(200, 'x') + "\"}"), 413,
               "request body: too large (got 214 bytes); expected at most 100 bytes; hint: send a shorter prompt, "
               "or start the server with a larger body limit",
               "invalid_request_error");
}

TEST_F(ServerTest, BadBodiesAre400NamingTheField) {
  start();
  expect_error(post("/v1/completions", R"({"prompt": "x",)"), 400,
               "request body: invalid JSON (got parse error at line 1, column 16: syntax error while parsing object "
               "key - unexpected end of input; expected string literal); expected a JSON object; hint: send "
               "Content-Type: application/json with a valid body",
               "invalid_request_error");
  expect_error(post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": 5}]})"), 400,
               "messages[0].content: wrong type (got 5); expected a string or an array of {\"type\": \"text\", "
               "\"text\": ...} parts",
               "invalid_request_error", "messages[0].content");
  expect_error(post("/v1/completions", R"({"model": "gpt-4", "prompt": "x"})"), 404,
               "model: not served here (got \"gpt-4\"); expected \"fake-model\"; hint: GET /v1/models lists the "
               "served model",
               "invalid_request_error", "model");
  EXPECT_EQ(generator.submitted, 0);
}

TEST_F(ServerTest, GeneratorRefusalsPassThrough) {
  start();
  generator.refuse_status = 429;
  const auto busy = post("/v1/completions", R"({"prompt": "x"})");
  expect_error(busy, 429, "server: too many requests waiting (got 8); expected at most 8", "rate_limit_error");
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  generator.refuse_status = 400;
  expect_error(post("/v1/completions", R"({"prompt": "x", "stream": true})"), 400, "prompt: too long for the model",
               "invalid_request_error");
}

TEST_F(ServerTest, EngineFailureBeforeTheFirstTokenIsA500Json) {
  start();
  generator.fail_after_tokens = 0;
  const std::string message = "internal error: generation failed: CUDA error: an illegal memory access was encountered";
  expect_error(post("/v1/completions", R"({"prompt": "abc"})"), 500, message, "server_error");
  expect_error(post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "a"}], "stream": true})"), 500,
               message, "server_error");
}

TEST_F(ServerTest, CompletionStreamFraming) {
  start();
  const auto r =
      post("/v1/completions",
           R"({"prompt": "abcd", "max_tokens": 3, "stream": true, "stream_options": {"include_usage": true}})",
           {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  // Compressing would hold events back in the compressor; clients such as node-fetch ask for gzip.
  EXPECT_FALSE(r->has_header("Content-Encoding"));
  const auto events = sse_data(r->body);
  ASSERT_EQ(events.size(), 6u) << r->body;  // 3 tokens, the finish, usage, [DONE]
  std::string text;
  for (std::size_t i = 0; i < 4; ++i) {
    const json chunk = parse(events[i]);
    EXPECT_EQ(chunk["object"], "text_completion");
    text += chunk["choices"][0]["text"].get<std::string>();
    EXPECT_EQ(chunk["choices"][0]["finish_reason"], i == 3 ? json("length") : json(nullptr));
  }
  EXPECT_EQ(text, "abc");
  EXPECT_EQ(parse(events[4])["choices"], json::array());
  EXPECT_EQ(parse(events[4])["usage"], parse(R"({"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7})"));
  EXPECT_EQ(events[5], "[DONE]");
}

TEST_F(ServerTest, ChatStreamFraming) {
  start();
  const auto r = post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "ab"}], "stream": true})");
  ASSERT_TRUE(r);
  const auto events = sse_data(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(parse(events[0])["choices"][0]["delta"], parse(R"({"role": "assistant", "content": ""})"));
  std::string content;
  for (std::size_t i = 1; i + 2 < events.size(); ++i) {
    const json chunk = parse(events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
    content += chunk["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(content, "user: ab\n");
  EXPECT_EQ(parse(events[events.size() - 2])["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(r->body.find("usage"), std::string::npos);  // not asked for
}

TEST_F(ServerTest, MidStreamErrorIsOneErrorEventThenClose) {
  start();
  generator.fail_after_tokens = 2;
  const auto r = post("/v1/completions", R"({"prompt": "abcdef", "stream": true})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const auto events = sse_data(r->body);
  ASSERT_EQ(events.size(), 3u) << r->body;
  EXPECT_EQ(parse(events[1])["choices"][0]["text"], "b");
  EXPECT_EQ(parse(events[2]),
            parse(R"({"error": {"message": "generation failed: CUDA error: an illegal memory access was encountered",
                      "type": "server_error", "param": null, "code": null}})"));
}

bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 200; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

TEST_F(ServerTest, ClientLeavingAStreamCancelsIt) {
  start();
  generator.delay_ms = 20;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = R"({"prompt": ")" + std::string(200, 'x') + R"(", "max_tokens": 200, "stream": true})";
  req.set_header("Content-Type", "application/json");
  int received = 0;
  req.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) { return ++received < 3; };
  auto c = client();
  c.send(req);  // the receiver's false closes the connection
  EXPECT_TRUE(eventually([&] { return generator.cancelled == 1; })) << "the engine never saw cancel()";
  EXPECT_TRUE(eventually([&] { return generator.finished == 1; }));
}

TEST_F(ServerTest, ClientLeavingAWholeResponseCancelsIt) {
  start();
  generator.delay_ms = 20;
  auto c = client();
  c.set_read_timeout(0, 300000);  // gives up after 0.3 s of a ~4 s generation and hangs up
  const auto r = c.Post("/v1/completions", R"({"prompt": ")" + std::string(200, 'x') + R"(", "max_tokens": 200})",
                        "application/json");
  EXPECT_FALSE(r);
  EXPECT_TRUE(eventually([&] { return generator.cancelled == 1; })) << "the engine never saw cancel()";
}

TEST_F(ServerTest, ClientLeavingBeforeTheFirstTokenCancels) {
  start();
  generator.queue_ms = 5000;
  auto c = client();
  c.set_read_timeout(0, 300000);
  EXPECT_FALSE(c.Post("/v1/completions", R"({"prompt": "abc", "stream": true})", "application/json"));
  EXPECT_TRUE(eventually([&] { return generator.cancelled == 1; })) << "the engine never saw cancel()";
}

TEST_F(ServerTest, RequestTimeoutCancels) {
  start(ServerOptions{.request_timeout_s = 0.3});
  generator.delay_ms = 20;
  const std::string prompt = R"({"prompt": ")" + std::string(100, 'x') + R"(", "max_tokens": 100)";
  expect_error(post("/v1/completions", prompt + "}"), 504,
               "request: timed out (got no end after 0.3 s); hint: lower max_tokens, or raise the server's request "
               "timeout",
               "server_error");
  const auto r = post("/v1/completions", prompt + R"(, "stream": true})");
  ASSERT_TRUE(r);
  const auto events = sse_data(r->body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(parse(events.back())["error"]["type"], "server_error");
  EXPECT_TRUE(eventually([&] { return generator.cancelled == 2; }));
}

TEST_F(ServerTest, CorsWhenAsked) {
  start(ServerOptions{.cors = true});
  auto c = client();
  const auto preflight = c.Options("/v1/chat/completions");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(get("/v1/models")->get_header_value("Access-Control-Allow-Origin"), "*");
}

}  // namespace
}  // namespace ds::engine::serve::test
