// parse_completion_request / parse_chat_request: what they accept, and the exact message and
// param of every refusal (STYLE.md 8: a table of bad inputs, none may crash).
#include "engine/serve/openai_request.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ds::engine::serve {
namespace {

using json = nlohmann::json;

struct BadCase {
  const char* body;
  const char* message;
  const char* param;
};

void expect_refused(const BadCase& c, bool chat) {
  SCOPED_TRACE(c.body);
  try {
    const json body = json::parse(c.body);
    if (chat) {
      parse_chat_request(body);
    } else {
      parse_completion_request(body);
    }
    ADD_FAILURE() << "accepted";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.what(), std::string(c.message));
    EXPECT_EQ(e.param(), c.param);
    EXPECT_EQ(e.http_status(), 400);
  }
}

TEST(ParseCompletionRequest, RefusesBadFieldsNamingThem) {
  const BadCase cases[] = {
      {R"([1])", "request body: wrong type (got [1]); expected a JSON object", "request body"},
      {R"({})", "prompt: missing; expected a string or an array of token ids", "prompt"},
      {R"({"prompt": 5})", "prompt: wrong type (got 5); expected a string or an array of token ids", "prompt"},
      {R"({"prompt": []})", "prompt: empty prompt (got []); expected a string or an array of token ids", "prompt"},
      {R"({"prompt": ["a", "b"]})",
       "prompt: not supported (got [\"a\",\"b\"]); expected a string or an array of token ids; hint: send one "
       "prompt per request",
       "prompt"},
      {R"({"prompt": [1, -2]})", "prompt[1]: out of range (got -2); expected an integer from 0 to 4294967295",
       "prompt[1]"},
      {R"({"prompt": [1, "x"]})", "prompt[1]: wrong type (got \"x\"); expected an integer from 0 to 4294967295",
       "prompt[1]"},
      {R"({"prompt": "hi", "temperature": "hot"})",
       "temperature: wrong type (got \"hot\"); expected a number from 0 to 2", "temperature"},
      {R"({"prompt": "hi", "temperature": 2.5})", "temperature: out of range (got 2.5); expected a number from 0 to 2",
       "temperature"},
      {R"({"prompt": "hi", "top_p": 0})", "top_p: out of range (got 0); expected a number above 0 and at most 1",
       "top_p"},
      {R"({"prompt": "hi", "top_k": -2})", "top_k: out of range (got -2); expected an integer >= -1", "top_k"},
      {R"({"prompt": "hi", "top_k": 1.5})", "top_k: wrong type (got 1.5); expected an integer >= -1", "top_k"},
      {R"({"prompt": "hi", "min_p": 1.5})", "min_p: out of range (got 1.5); expected a number from 0 to 1", "min_p"},
      {R"({"prompt": "hi", "max_tokens": 0})", "max_tokens: out of range (got 0); expected an integer >= 1",
       "max_tokens"},
      {R"({"prompt": "hi", "max_tokens": "16"})", "max_tokens: wrong type (got \"16\"); expected an integer >= 1",
       "max_tokens"},
      {R"({"prompt": "hi", "n": 2})", "n: not supported (got 2); expected 1; hint: send one request per choice", "n"},
      {R"({"prompt": "hi", "stream": "yes"})", "stream: wrong type (got \"yes\"); expected true or false", "stream"},
      {R"({"prompt": "hi", "stream_options": {"include_usage": true}})",
       "stream_options: only allowed with \"stream\": true (got {\"include_usage\":true}); expected no stream_options",
       "stream_options"},
      {R"({"prompt": "hi", "stream": true, "stream_options": {"include_usage": 1}})",
       "stream_options.include_usage: wrong type (got 1); expected true or false", "stream_options.include_usage"},
      {R"({"prompt": "hi", "stop": ["a", "b", "c", "d", "e"]})",
       "stop: too many stop sequences (got 5); expected at most 4", "stop"},
      {R"({"prompt": "hi", "stop": ["a", 3]})", "stop[1]: wrong type (got 3); expected a string", "stop[1]"},
      {R"({"prompt": "hi", "stop": ""})", "stop: empty stop string (got \"\"); expected a non-empty string", "stop"},
      {R"({"prompt": "hi", "seed": -1})", "seed: out of range (got -1); expected an integer >= 0", "seed"},
      {R"({"prompt": "hi", "presence_penalty": 3})",
       "presence_penalty: out of range (got 3); expected a number from -2 to 2", "presence_penalty"},
      {R"({"prompt": "hi", "frequency_penalty": -2.5})",
       "frequency_penalty: out of range (got -2.5); expected a number from -2 to 2", "frequency_penalty"},
      {R"({"prompt": "hi", "repetition_penalty": 0})",
       "repetition_penalty: out of range (got 0); expected a number above 0 and at most 2", "repetition_penalty"},
      {R"({"prompt": "hi", "logprobs": 21})", "logprobs: out of range (got 21); expected an integer from 0 to 20",
       "logprobs"},
      {R"({"prompt": "hi", "logprobs": true})", "logprobs: wrong type (got true); expected an integer from 0 to 20",
       "logprobs"},
      {R"({"prompt": "hi", "echo": true})",
       "echo: not supported (got true); expected false; hint: send the prompt back yourself; ds does not echo it",
       "echo"},
      {R"({"prompt": "hi", "best_of": 3})",
       "best_of: not supported (got 3); expected 1; hint: send several requests with different seeds", "best_of"},
      {R"({"prompt": "hi", "suffix": "end"})",
       "suffix: not supported (got \"end\"); expected no suffix; hint: ds has no fill-in-the-middle mode", "suffix"},
      {R"({"prompt": "hi", "logit_bias": {"50256": -100}})",
       "logit_bias: not supported (got {\"50256\":-100}); expected no logit_bias; hint: remove it; ds does not bias "
       "logits",
       "logit_bias"},
      {R"({"prompt": "hi", "ignore_eos": "no"})", "ignore_eos: wrong type (got \"no\"); expected true or false",
       "ignore_eos"},
      {R"({"prompt": "hi", "stop_token_ids": 2})", "stop_token_ids: wrong type (got 2); expected an array of token ids",
       "stop_token_ids"},
      {R"({"prompt": "hi", "model": 7})", "model: wrong type (got 7); expected a string", "model"},
  };
  for (const auto& c : cases) expect_refused(c, /*chat=*/false);
}

TEST(ParseCompletionRequest, ReadsEveryField) {
  const auto r = parse_completion_request(json::parse(R"({
    "model": "m", "prompt": "Hello", "max_tokens": 5.0, "temperature": 0, "top_p": 0.9, "top_k": -1,
    "min_p": 0.1, "n": 1, "stream": true, "stream_options": {"include_usage": true}, "stop": "\n",
    "seed": 42, "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.1,
    "logprobs": 2, "echo": false, "user": "u", "ignore_eos": true, "stop_token_ids": [7, 8],
    "some_future_field": {"x": 1}, "best_of": null, "suffix": ""})"));
  EXPECT_EQ(r.common.model, "m");
  EXPECT_TRUE(r.common.stream);
  EXPECT_TRUE(r.common.include_usage);
  EXPECT_EQ(r.prompt_text, "Hello");
  EXPECT_EQ(r.sampling.max_tokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0.0);
  EXPECT_EQ(r.sampling.top_k, -1);
  EXPECT_EQ(r.sampling.stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.sampling.logprobs, 2);
  EXPECT_EQ(r.sampling.stop_token_ids, (std::vector<std::uint32_t>{7, 8}));

  const SamplingParams p = apply_sampling(r.sampling, SamplingParams{});
  EXPECT_EQ(p.max_tokens, 5);
  EXPECT_EQ(p.top_k, 0);  // -1 = all tokens
  EXPECT_DOUBLE_EQ(p.top_p, 0.9);
  EXPECT_DOUBLE_EQ(p.min_p, 0.1);
  EXPECT_DOUBLE_EQ(p.repetition_penalty, 1.1);
  EXPECT_DOUBLE_EQ(p.presence_penalty, 0.5);
  EXPECT_DOUBLE_EQ(p.frequency_penalty, -0.5);
  EXPECT_TRUE(p.ignore_eos);
}

TEST(ParseCompletionRequest, TokenIdsAndBatchesOfOne) {
  EXPECT_EQ(parse_completion_request(json::parse(R"({"prompt": [1, 2, 3]})")).prompt_ids,
            (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(parse_completion_request(json::parse(R"({"prompt": [[4, 5]]})")).prompt_ids,
            (std::vector<std::uint32_t>{4, 5}));
  EXPECT_EQ(parse_completion_request(json::parse(R"({"prompt": ["one"]})")).prompt_text, "one");
}

TEST(ParseCompletionRequest, NullMeansDefault) {
  const auto r = parse_completion_request(json::parse(R"({"prompt": "x", "temperature": null, "stop": null})"));
  EXPECT_FALSE(r.sampling.temperature);
  EXPECT_TRUE(r.sampling.stop.empty());
  const SamplingParams defaults{.temperature = 0.6, .top_p = 0.9};
  EXPECT_DOUBLE_EQ(apply_sampling(r.sampling, defaults).temperature, 0.6);  // generation_config wins
}

TEST(ParseChatRequest, RefusesBadFieldsNamingThem) {
  const BadCase cases[] = {
      {R"({})", "messages: missing; expected a non-empty array of {\"role\": ..., \"content\": ...} objects",
       "messages"},
      {R"({"messages": []})",
       "messages: empty (got []); expected a non-empty array of {\"role\": ..., \"content\": ...} objects", "messages"},
      {R"({"messages": "hi"})",
       "messages: wrong type (got \"hi\"); expected a non-empty array of {\"role\": ..., \"content\": ...} objects",
       "messages"},
      {R"({"messages": [{"role": "user", "content": "a"}, "b"]})",
       "messages[1]: wrong type (got \"b\"); expected an object with \"role\" and \"content\"", "messages[1]"},
      {R"({"messages": [{"content": "a"}]})",
       "messages[0].role: missing; expected one of \"system\", \"developer\", \"user\", \"assistant\", \"tool\"",
       "messages[0].role"},
      {R"({"messages": [{"role": "robot", "content": "a"}]})",
       "messages[0].role: unknown role (got \"robot\"); expected one of \"system\", \"developer\", \"user\", "
       "\"assistant\", \"tool\"",
       "messages[0].role"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "user", "content": 3}]})",
       "messages[2].content: wrong type (got 3); expected a string or an array of {\"type\": \"text\", \"text\": "
       "...} parts",
       "messages[2].content"},
      {R"({"messages": [{"role": "user"}]})",
       "messages[0].content: missing; expected a string or an array of text parts; hint: only assistant messages "
       "with tool_calls may leave content out",
       "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})",
       "messages[0].content[0].type: not supported (got \"image_url\"); expected \"text\"; hint: this server "
       "takes text only",
       "messages[0].content[0].type"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})",
       "messages[0].content[0].text: missing or not a string; expected a string", "messages[0].content[0].text"},
      {R"({"messages": [{"role": "user", "content": "a", "name": 5}]})",
       "messages[0].name: wrong type (got 5); expected a string", "messages[0].name"},
      {R"({"messages": [{"role": "user", "content": "a"}], "logprobs": 1})",
       "logprobs: wrong type (got 1); expected true or false", "logprobs"},
      {R"({"messages": [{"role": "user", "content": "a"}], "top_logprobs": 2})",
       "top_logprobs: needs \"logprobs\": true (got 2); expected \"logprobs\": true with it", "top_logprobs"},
      {R"({"messages": [{"role": "user", "content": "a"}], "logprobs": true, "top_logprobs": 21})",
       "top_logprobs: out of range (got 21); expected an integer from 0 to 20", "top_logprobs"},
      {R"({"messages": [{"role": "user", "content": "a"}], "max_completion_tokens": -1})",
       "max_completion_tokens: out of range (got -1); expected an integer >= 1", "max_completion_tokens"},
      {R"({"messages": [{"role": "user", "content": "a"}], "tools": {}})",
       "tools: wrong type (got {}); expected an array of tool definitions", "tools"},
      {R"({"messages": [{"role": "user", "content": "a"}], "tool_choice": "required"})",
       "tool_choice: not supported (got \"required\"); expected \"none\" or \"auto\"; hint: ds does not force tool "
       "calls",
       "tool_choice"},
      {R"({"messages": [{"role": "user", "content": "a"}], "response_format": {"type": "json_object"}})",
       "response_format: not supported (got {\"type\":\"json_object\"}); expected {\"type\": \"text\"}; hint: ds has "
       "no constrained decoding",
       "response_format"},
      {R"({"messages": [{"role": "user", "content": "a"}], "n": 0})",
       "n: out of range (got 0); expected an integer >= 1", "n"},
  };
  for (const auto& c : cases) expect_refused(c, /*chat=*/true);
}

TEST(ParseChatRequest, FlattensTextPartsAndPassesToolFieldsThrough) {
  const auto r = parse_chat_request(json::parse(R"({
    "model": "m",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}], "name": "ann"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "content": "42", "tool_call_id": "c1"}],
    "max_tokens": 7, "max_completion_tokens": 9, "logprobs": true, "top_logprobs": 3,
    "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto",
    "response_format": {"type": "text"}, "add_generation_prompt": false})"));
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[1]["content"], "one\ntwo");
  EXPECT_EQ(r.messages[1]["name"], "ann");
  EXPECT_TRUE(r.messages[2]["content"].is_null());
  EXPECT_EQ(r.messages[2]["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(r.messages[3]["tool_call_id"], "c1");
  EXPECT_EQ(r.sampling.max_tokens, 9);  // max_completion_tokens wins
  EXPECT_EQ(r.sampling.logprobs, 3);
  EXPECT_EQ(r.tools.size(), 1u);
  EXPECT_FALSE(r.add_generation_prompt);
}

TEST(ParseChatRequest, LogprobsWithoutTopMeansTheChosenTokenOnly) {
  const auto r =
      parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "a"}], "logprobs": true})"));
  EXPECT_EQ(r.sampling.logprobs, 0);
  const auto none = parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "a"}]})"));
  EXPECT_FALSE(none.sampling.logprobs);
  EXPECT_FALSE(none.sampling.max_tokens);
}

}  // namespace
}  // namespace ds::engine::serve
