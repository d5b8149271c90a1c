// Every field of both endpoints set to every kind of JSON value: the parsers either accept it or
// throw RequestError 400 whose message and param start with that field. Nothing else escapes.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "engine/serve/openai_request.hpp"

namespace ds::engine::serve {
namespace {

using json = nlohmann::json;

const char* const kValues[] = {
    "null", "true", "false", "0", "1", "-1", "21", "1.5", "-2.5", "1e308", "-1e308", "18446744073709551615",
    "-9223372036854775808", "\"\"", "\"x\"", "[]", "[1]", "[\"a\"]", "[[1]]", "[null]", "{}", "{\"a\": 1}",
    "[{\"type\": \"text\", \"text\": 1}]", "[{\"role\": \"user\", \"content\": [1]}]"};

void expect_clean(const json& body, const std::string& field, bool chat) {
  SCOPED_TRACE(body.dump());
  try {
    if (chat) {
      parse_chat_request(body);
    } else {
      parse_completion_request(body);
    }
  } catch (const RequestError& e) {
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(std::string(e.what()).rfind(field, 0), 0u) << e.what();
    EXPECT_EQ(e.param().rfind(field, 0), 0u) << e.param();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "escaped: " << e.what();
  }
}

TEST(RequestRobustness, EveryFieldEveryKindOfValue) {
  const char* const shared[] = {"model", "n", "stream", "temperature", "top_p", "top_k", "min_p",
                                "presence_penalty", "frequency_penalty", "repetition_penalty", "seed", "stop",
                                "stop_token_ids", "ignore_eos", "logit_bias", "max_tokens"};
  const char* const completion_only[] = {"prompt", "logprobs", "echo", "best_of", "suffix"};
  const char* const chat_only[] = {"messages", "max_completion_tokens", "logprobs", "top_logprobs", "tools",
                                   "tool_choice", "response_format", "add_generation_prompt"};
  const json completion_base = json::parse(R"({"prompt": "hi"})");
  const json chat_base = json::parse(R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": true})");
  for (const char* value : kValues) {
    const json v = json::parse(value);
    for (const char* field : shared) {
      json c = completion_base;
      c[field] = v;
      expect_clean(c, field, false);
      json h = chat_base;
      h[field] = v;
      expect_clean(h, field, true);
    }
    for (const char* field : completion_only) {
      json c = completion_base;
      c[field] = v;
      expect_clean(c, field, false);
    }
    for (const char* field : chat_only) {
      json h = chat_base;
      h[field] = v;
      expect_clean(h, field, true);
    }
    // Inside a message and inside stream_options.
    json message = chat_base;
    message["messages"][0]["content"] = v;
    expect_clean(message, "messages[0].content", true);
    json role = chat_base;
    role["messages"][0]["role"] = v;
    expect_clean(role, "messages[0].role", true);
    json options = completion_base;
    options["stream"] = true;
    options["stream_options"] = json{{"include_usage", v}};
    expect_clean(options, "stream_options.include_usage", false);
  }
}

}  // namespace
}  // namespace ds::engine::serve
