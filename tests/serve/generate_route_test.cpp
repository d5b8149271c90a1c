// prepare_generation: a parsed body -> the engine request and the response options (prompt ids,
// max_tokens defaults, EOS as a stop id, the model's sampling defaults) and its refusals. The
// routes themselves, over HTTP, are in http_server_test.cpp.
#include "engine/serve/generate_route.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/serve/fake_generator.hpp"

namespace ds::engine::serve::test {
namespace {

using json = nlohmann::json;
using Ids = std::vector<std::uint32_t>;

// fake_model(), with a BOS (id 1) when the caller asks for special tokens and EOS ids 2 and 0.
ServedModel model() {
  ServedModel m = fake_model();
  m.encode = [](const std::string& text, bool add_special_tokens) {
    Ids ids;
    if (add_special_tokens) ids.push_back(1);
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  };
  m.eos_token_ids = {2, 0};
  return m;
}

PreparedGeneration prepare(Api api, const char* body, std::int64_t max_model_len = 4096) {
  return prepare_generation(model(), max_model_len, api, json::parse(body));
}

TEST(PrepareGeneration, CompletionEncodesTheTextWithSpecialTokens) {
  const auto p = prepare(Api::kCompletion, R"({"model": "fake-model", "prompt": "Hi"})");
  EXPECT_EQ(p.request.prompt, (Ids{1, 'H', 'i'}));
  EXPECT_EQ(p.request.sampling.max_tokens, 16);  // OpenAI's default for completions
  EXPECT_EQ(p.request.sampling.stop_token_ids, (Ids{2, 0}));
  EXPECT_FALSE(p.stream);
  EXPECT_FALSE(p.include_usage);
  EXPECT_EQ(p.response.api, Api::kCompletion);
  EXPECT_EQ(p.response.id.rfind("cmpl-", 0), 0u);
  EXPECT_EQ(p.response.model, "fake-model");
  EXPECT_FALSE(p.response.logprobs);
  EXPECT_EQ(p.response.token_text('A'), "A");
}

TEST(PrepareGeneration, CompletionTokenIdsAreUsedAsSent) {
  const auto p = prepare(Api::kCompletion,
                         R"({"prompt": [7, 8, 9], "max_tokens": 3, "logprobs": 2, "stream": true,
                             "stream_options": {"include_usage": true}})");
  EXPECT_EQ(p.request.prompt, (Ids{7, 8, 9}));
  EXPECT_EQ(p.request.sampling.max_tokens, 3);
  EXPECT_EQ(p.response.logprobs, 2);
  EXPECT_TRUE(p.stream);
  EXPECT_TRUE(p.include_usage);
}

TEST(PrepareGeneration, ChatRendersWithoutSpecialTokensAndDefaultsToTheRestOfTheContext) {
  const char* body = R"({"messages": [{"role": "user", "content": "Hi"}]})";
  const auto p = prepare(Api::kChat, body, 100);
  EXPECT_EQ(p.request.prompt, (Ids{'u', 's', 'e', 'r', ':', ' ', 'H', 'i', '\n'}));
  EXPECT_EQ(p.request.sampling.max_tokens, 100 - 9);
  EXPECT_EQ(p.response.api, Api::kChat);
  EXPECT_EQ(p.response.id.rfind("chatcmpl-", 0), 0u);
  // A prompt that fills the context still asks for one token; the Generator refuses it.
  EXPECT_EQ(prepare(Api::kChat, body, 9).request.sampling.max_tokens, 1);
  EXPECT_EQ(prepare(Api::kChat, body, 4).request.sampling.max_tokens, 1);
  EXPECT_EQ(prepare(Api::kChat, R"({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 7})", 100)
                .request.sampling.max_tokens,
            7);
}

TEST(PrepareGeneration, EosIdsAreAddedToTheStopIdsOnceUnlessIgnored) {
  EXPECT_EQ(prepare(Api::kCompletion, R"({"prompt": "x", "stop_token_ids": [5, 0]})").request.sampling.stop_token_ids,
            (Ids{5, 0, 2}));
  EXPECT_TRUE(prepare(Api::kCompletion, R"({"prompt": "x", "ignore_eos": true})").request.sampling.stop_token_ids.empty());
  EXPECT_EQ(prepare(Api::kCompletion, R"({"prompt": "x", "ignore_eos": true, "stop_token_ids": [5]})")
                .request.sampling.stop_token_ids,
            (Ids{5}));
}

TEST(PrepareGeneration, RequestFieldsOverrideTheModelsSamplingDefaults) {
  ServedModel m = model();
  m.default_sampling.temperature = 0.6;
  m.default_sampling.top_p = 0.9;
  const auto p = prepare_generation(m, 4096, Api::kCompletion, json::parse(R"({"prompt": "x", "temperature": 0})"));
  EXPECT_EQ(p.request.sampling.temperature, 0.0);
  EXPECT_EQ(p.request.sampling.top_p, 0.9);
}

TEST(PrepareGeneration, RefusesAnotherModelAndAnEmptyPrompt) {
  for (const Api api : {Api::kCompletion, Api::kChat}) {
    try {
      prepare(api, R"({"model": "gpt-4", "prompt": "x", "messages": [{"role": "user", "content": "x"}]})");
      ADD_FAILURE() << "accepted";
    } catch (const RequestError& e) {
      EXPECT_EQ(std::string(e.what()),
                "model: not served here (got \"gpt-4\"); expected \"fake-model\"; hint: GET /v1/models lists the "
                "served model");
      EXPECT_EQ(e.http_status(), 404);
      EXPECT_EQ(e.param(), "model");
    }
  }
  ServedModel no_bos = model();
  no_bos.encode = fake_model().encode;  // "" encodes to no ids at all
  try {
    prepare_generation(no_bos, 4096, Api::kCompletion, json::parse(R"({"prompt": ""})"));
    ADD_FAILURE() << "accepted";
  } catch (const RequestError& e) {
    EXPECT_EQ(std::string(e.what()), "prompt: no tokens (got \"\"); expected some text or token ids");
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(e.param(), "prompt");
  }
}

}  // namespace
}  // namespace ds::engine::serve::test
