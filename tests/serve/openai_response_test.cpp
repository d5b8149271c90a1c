// ResponseBuilder and friends: the exact JSON shapes OpenAI's clients parse, streaming and not,
// with and without logprobs; the error object; SSE framing.
#include "engine/serve/openai_response.hpp"

#include <gtest/gtest.h>

namespace ds::engine::serve {
namespace {

using ojson = nlohmann::ordered_json;

ResponseOptions options(Api api, std::optional<std::int64_t> logprobs = std::nullopt) {
  ResponseOptions o;
  o.api = api;
  o.id = api == Api::kChat ? "chatcmpl-1" : "cmpl-1";
  o.created = 1700000000;
  o.model = "m";
  o.logprobs = logprobs;
  o.token_text = [](std::uint32_t id) { return "t" + std::to_string(id); };
  return o;
}

GenerationUpdate token_update(const std::string& text, std::uint32_t id, std::int64_t done,
                              std::optional<FinishReason> finish = std::nullopt) {
  GenerationUpdate u;
  u.text = text;
  u.tokens = {GeneratedToken{id, text, -0.25, {TokenLogprob{7, -1.5}}}};
  u.prompt_tokens = 3;
  u.completion_tokens = done;
  u.finish = finish;
  return u;
}

TEST(ResponseIds, HavePrefixAndRandomTail) {
  const std::string a = new_response_id(Api::kCompletion);
  const std::string b = new_response_id(Api::kChat);
  EXPECT_EQ(a.rfind("cmpl-", 0), 0u);
  EXPECT_EQ(a.size(), 5u + 24u);
  EXPECT_EQ(b.rfind("chatcmpl-", 0), 0u);
  EXPECT_NE(new_response_id(Api::kChat), b);
}

TEST(ResponseBuilder, CompletionObject) {
  ResponseBuilder b(options(Api::kCompletion));
  b.add(token_update("Hel", 1, 1));
  b.add(token_update("lo", 2, 2, FinishReason::kLength));
  EXPECT_EQ(b.response().dump(),
            R"({"id":"cmpl-1","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,)"
            R"("text":"Hello","logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,)"
            R"("completion_tokens":2,"total_tokens":5}})");
}

TEST(ResponseBuilder, CompletionLogprobsAreParallelArraysWithOffsets) {
  ResponseBuilder b(options(Api::kCompletion, 1));
  b.add(token_update("Hel", 1, 1));
  b.add(token_update("lo", 2, 2, FinishReason::kStop));
  EXPECT_EQ(b.response()["choices"][0]["logprobs"].dump(),
            R"({"tokens":["Hel","lo"],"token_logprobs":[-0.25,-0.25],"top_logprobs":[{"Hel":-0.25,"t7":-1.5},)"
            R"({"lo":-0.25,"t7":-1.5}],"text_offset":[0,3]})");
}

TEST(ResponseBuilder, ChatObjectWithLogprobs) {
  ResponseBuilder b(options(Api::kChat, 1));
  b.add(token_update("Hi", 1, 1, FinishReason::kStop));
  EXPECT_EQ(b.response().dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,)"
            R"("message":{"role":"assistant","content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.25,)"
            R"("bytes":[72,105],"top_logprobs":[{"token":"t7","logprob":-1.5,"bytes":[116,55]}]}]},)"
            R"("finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})");
}

TEST(ResponseBuilder, ChatChunksStartWithTheRoleAndEndWithFinishReason) {
  ResponseBuilder b(options(Api::kChat));
  const auto first = b.chunks(token_update("Hi", 1, 1));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[)"
            R"({"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})");
  EXPECT_EQ(first[1]["choices"][0].dump(),
            R"({"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null})");
  GenerationUpdate last;
  last.finish = FinishReason::kLength;
  last.prompt_tokens = 3;
  last.completion_tokens = 1;
  const auto end = b.chunks(last);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0]["choices"][0].dump(), R"({"index":0,"delta":{},"logprobs":null,"finish_reason":"length"})");
  EXPECT_EQ(b.usage_chunk().dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],)"
            R"("usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})");
}

TEST(ResponseBuilder, CompletionChunksCarryTextAndLogprobs) {
  ResponseBuilder b(options(Api::kCompletion, 0));
  const auto chunks = b.chunks(token_update("ab", 1, 1));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0]["object"], "text_completion");
  EXPECT_EQ(chunks[0]["choices"][0]["text"], "ab");
  EXPECT_EQ(chunks[0]["choices"][0]["logprobs"]["text_offset"].dump(), "[0]");
  EXPECT_EQ(b.chunks(token_update("c", 2, 2))[0]["choices"][0]["logprobs"]["text_offset"].dump(), "[2]");
  EXPECT_TRUE(b.chunks(GenerationUpdate{}).empty());  // nothing new, nothing sent
}

TEST(ResponseBuilder, CancelledIsAbort) {
  EXPECT_STREQ(openai_finish_reason(FinishReason::kCancelled), "abort");
  EXPECT_STREQ(openai_finish_reason(FinishReason::kStop), "stop");
}

TEST(Sse, FramingAndBrokenUtf8) {
  EXPECT_EQ(sse_event(ojson{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_STREQ(kSseDone, "data: [DONE]\n\n");
  // Half of "é": replaced, not thrown.
  EXPECT_EQ(dump_json(ojson{{"t", std::string("\xc3")}}), "{\"t\":\"\xef\xbf\xbd\"}");
}

TEST(ErrorBody, OpenAiShape) {
  EXPECT_EQ(error_body("bad", "invalid_request_error", "temperature").dump(),
            R"({"error":{"message":"bad","type":"invalid_request_error","param":"temperature","code":null}})");
}

}  // namespace
}  // namespace ds::engine::serve
