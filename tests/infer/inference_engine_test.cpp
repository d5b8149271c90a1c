// InferenceEngine end to end with a tiny random fp64 Llama and the byte tokenizer (token = byte):
// greedy equals a naive loop of full forwards; batching, chunking and preemption change no
// token; stop conditions, cancel, submit() errors and stats.
#include "engine/infer/inference_engine.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "engine/infer/kv_cache.hpp"
#include "tests/infer/tiny_models.hpp"

namespace ds::engine::infer {
namespace {

using serve::FinishReason;

struct Result {
  std::vector<std::uint32_t> ids;
  std::string text;
  std::optional<FinishReason> finish;
  std::int64_t completion_tokens = 0;
  int updates = 0;
};

Result collect(serve::RequestStream& stream) {
  Result r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!r.finish && std::chrono::steady_clock::now() < deadline) {
    auto u = stream.next(std::chrono::milliseconds(100));
    if (!u) continue;
    ++r.updates;
    for (const auto& t : u->tokens) r.ids.push_back(t.id);
    r.text += u->text;
    r.finish = u->finish;
    r.completion_tokens = u->completion_tokens;
  }
  return r;
}

std::shared_ptr<model::CausalLM> shared_model() {
  static auto m = [] {
    auto model = test::tiny_model(test::tiny_llama_spec(), 11);
    model->eval();
    return model;
  }();
  return m;
}

checkpoint::LoadedModel loaded() {
  checkpoint::LoadedModel lm;
  lm.model = shared_model();
  lm.spec = lm.model->spec();
  return lm;
}

std::shared_ptr<const tokenizer::Tokenizer> bytes() { return std::make_shared<tokenizer::ByteTokenizer>(); }

/// Blocks of 4 tokens; `blocks` of them; sequences up to 40 tokens.
EngineOptions small_options(std::int64_t max_batch_tokens, std::int64_t blocks) {
  EngineOptions o;
  o.block_size = 4;
  o.max_model_len = 40;
  o.max_batch_tokens = max_batch_tokens;
  o.kv_cache_bytes = blocks * kv_block_bytes(test::tiny_llama_spec(), 4, torch::kFloat64);
  return o;
}

serve::GenerationRequest request(std::vector<std::uint32_t> prompt, std::int64_t max_tokens,
                                 double temperature = 0.0, std::optional<std::uint64_t> seed = {}) {
  serve::GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.max_tokens = max_tokens;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  return r;
}

std::vector<std::uint32_t> prompt_of(std::size_t n, std::uint32_t salt) {
  std::vector<std::uint32_t> p;
  for (std::size_t i = 0; i < n; ++i) p.push_back(static_cast<std::uint32_t>((i * 37 + salt * 11 + 5) % 256));
  return p;
}

/// Greedy continuation by full forward() over the whole sequence at every step.
std::vector<std::uint32_t> naive_greedy(std::vector<std::uint32_t> ids, std::int64_t n) {
  torch::NoGradGuard no_grad;
  std::vector<std::uint32_t> out;
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<std::int64_t> v(ids.begin(), ids.end());
    auto logits = shared_model()->forward(torch::tensor(v, torch::kLong).unsqueeze(0))[0][-1];
    const auto next = static_cast<std::uint32_t>(logits.argmax().item<std::int64_t>());
    out.push_back(next);
    ids.push_back(next);
  }
  return out;
}

TEST(InferenceEngine, GreedyEqualsNaiveFullForwardLoop) {
  InferenceEngine engine(loaded(), bytes(), small_options(8, 64));
  const auto prompt = prompt_of(13, 1);
  auto r = collect(*engine.submit(request(prompt, 12)));
  EXPECT_EQ(r.ids, naive_greedy(prompt, 12));
  EXPECT_EQ(r.finish, FinishReason::kLength);
  EXPECT_EQ(r.completion_tokens, 12);
}

TEST(InferenceEngine, BatchedChunkedPreemptedEqualsAlone) {
  // 8 requests: even ones greedy, odd ones seeded sampling; prompts 3..24 tokens.
  std::vector<serve::GenerationRequest> reqs;
  for (std::uint32_t i = 0; i < 8; ++i) {
    reqs.push_back(request(prompt_of(3 + 3 * i, i), 14, i % 2 ? 1.0 : 0.0, i % 2 ? std::optional<std::uint64_t>(100 + i) : std::nullopt));
  }
  std::vector<Result> alone;
  {
    InferenceEngine engine(loaded(), bytes(), small_options(512, 128));
    for (const auto& r : reqs) alone.push_back(collect(*engine.submit(r)));
    EXPECT_EQ(engine.stats().preemptions, 0);
  }
  // Together: 8 tokens a pass (prompts chunked) and 14 blocks = 56 tokens for 8 sequences of up
  // to 38 tokens each, so sequences get preempted and recomputed.
  InferenceEngine engine(loaded(), bytes(), small_options(8, 14));
  std::vector<std::shared_ptr<serve::RequestStream>> streams;
  for (const auto& r : reqs) streams.push_back(engine.submit(r));
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    auto r = collect(*streams[i]);
    EXPECT_EQ(r.ids, alone[i].ids) << "request " << i;
    EXPECT_EQ(r.text, alone[i].text) << "request " << i;
    EXPECT_EQ(r.finish, FinishReason::kLength) << "request " << i;
    EXPECT_EQ(r.ids.size(), 14u);
  }
  // No waiting: stats() counts a pass before its updates are pushed.
  const auto stats = engine.stats();
  EXPECT_GT(stats.preemptions, 0);
  EXPECT_EQ(stats.generated_tokens, 8 * 14);
  EXPECT_EQ(stats.requests_finished, 8);
  EXPECT_EQ(stats.kv_blocks_used, 0);
  EXPECT_EQ(stats.kv_blocks_total, 14);
  EXPECT_GE(stats.prompt_tokens, 3 * 8 + 3 * 28);  // recomputed prompts count again
  EXPECT_GT(stats.forward_passes, 14);
  // Greedy ones equal the naive loop too.
  EXPECT_EQ(alone[0].ids, naive_greedy(reqs[0].prompt, 14));
  // Different seeds, different samples.
  EXPECT_NE(alone[1].ids, alone[3].ids);
}

TEST(InferenceEngine, TextIsTheTokensBytes) {
  InferenceEngine engine(loaded(), bytes(), small_options(8, 64));
  auto r = collect(*engine.submit(request(prompt_of(5, 2), 10, 1.0, 7)));
  ASSERT_EQ(r.ids.size(), 10u);
  std::string expected;
  bool ascii = true;
  for (auto id : r.ids) {
    ascii = ascii && id < 128;
    expected += id == tokenizer::ByteTokenizer::kEotId ? std::string() : std::string(1, static_cast<char>(id));
  }
  if (ascii) EXPECT_EQ(r.text, expected);
  EXPECT_FALSE(r.text.empty());
}

TEST(InferenceEngine, StopTokenIdFinishesWithStop) {
  InferenceEngine engine(loaded(), bytes(), small_options(8, 64));
  const auto prompt = prompt_of(6, 3);
  const auto full = naive_greedy(prompt, 10);
  const auto stop = full[4];
  const auto k = static_cast<std::size_t>(std::find(full.begin(), full.end(), stop) - full.begin());
  auto req = request(prompt, 10);
  req.sampling.stop_token_ids = {stop};
  auto r = collect(*engine.submit(req));
  EXPECT_EQ(r.finish, FinishReason::kStop);
  EXPECT_EQ(r.ids, std::vector<std::uint32_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(k) + 1));
}

TEST(InferenceEngine, StopStringIsCutFromTheText) {
  InferenceEngine engine(loaded(), bytes(), small_options(8, 64));
  auto base = request(prompt_of(4, 4), 16, 1.0, 99);  // sampled: varied bytes
  const auto full = collect(*engine.submit(base));
  ASSERT_GE(full.text.size(), 8u);
  const auto stop = full.text.substr(5, 2);
  const auto at = full.text.find(stop);
  auto req = base;
  req.sampling.stop = {"zzzz-never", stop};
  auto r = collect(*engine.submit(req));
  EXPECT_EQ(r.finish, FinishReason::kStop);
  EXPECT_EQ(r.text, full.text.substr(0, at));
  EXPECT_LT(r.ids.size(), full.ids.size());
}

TEST(InferenceEngine, CancelEndsTheStreamAndFreesTheBlocks) {
  auto o = small_options(8, 64);
  o.max_model_len = 0;  // the model's 2048 positions: a long generation
  o.kv_cache_bytes = 600 * kv_block_bytes(test::tiny_llama_spec(), 4, torch::kFloat64);
  InferenceEngine engine(loaded(), bytes(), o);
  auto stream = engine.submit(request(prompt_of(3, 5), 2000));
  auto first = stream->next(std::chrono::seconds(30));
  ASSERT_TRUE(first.has_value());
  for (int i = 0; i < 100 && engine.stats().kv_blocks_used == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(engine.stats().kv_blocks_used, 0);
  stream->cancel();
  auto r = collect(*stream);
  EXPECT_EQ(r.finish, FinishReason::kCancelled);
  EXPECT_LT(r.completion_tokens, 2000);
  EXPECT_EQ(engine.stats().kv_blocks_used, 0);  // freed before the final update was pushed
  EXPECT_EQ(engine.stats().running, 0);
}

int status_of(const std::function<void()>& f, std::string& message) {
  try {
    f();
  } catch (const RequestError& e) {
    message = e.what();
    return e.http_status();
  }
  return 200;
}

TEST(InferenceEngine, SubmitRefusesBadRequests) {
  InferenceEngine engine(loaded(), bytes(), small_options(8, 64));
  std::string msg;
  EXPECT_EQ(status_of([&] { engine.submit(request({}, 4)); }, msg), 400);
  EXPECT_EQ(msg, "prompt: empty; expected at least one token");
  EXPECT_EQ(status_of([&] { engine.submit(request(prompt_of(30, 0), 11)); }, msg), 400);
  EXPECT_EQ(msg, "This model's maximum context length is 40 tokens. However, you requested 41 tokens (30 in the "
                 "prompt, 11 in the completion). Please reduce the prompt or max_tokens.");
  EXPECT_EQ(status_of([&] { engine.submit(request(prompt_of(30, 0), 10)); }, msg), 200);  // exactly 40 fits
  EXPECT_EQ(status_of([&] { engine.submit(request({1, 300}, 4)); }, msg), 400);
  EXPECT_EQ(status_of([&] { engine.submit(request({1}, 0)); }, msg), 400);
}

TEST(InferenceEngine, TooManyWaitingIs429) {
  auto o = small_options(8, 64);
  o.max_running = 1;
  o.max_waiting = 2;
  o.max_model_len = 0;
  o.kv_cache_bytes = 600 * kv_block_bytes(test::tiny_llama_spec(), 4, torch::kFloat64);
  InferenceEngine engine(loaded(), bytes(), o);
  std::vector<std::shared_ptr<serve::RequestStream>> streams;
  streams.push_back(engine.submit(request({1, 2}, 2000)));  // occupies the only running slot
  // Until the loop admits it, the first request is itself waiting; then the queue would drain by
  // one between two submits (a race seen once under CI load), so wait until it runs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (engine.stats().running == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(engine.stats().running, 1);
  streams.push_back(engine.submit(request({3}, 4)));
  streams.push_back(engine.submit(request({4}, 4)));  // the second waiting request: the queue is full
  std::string msg;
  EXPECT_EQ(status_of([&] { streams.push_back(engine.submit(request({5}, 4))); }, msg), 429);
  EXPECT_EQ(msg, "too many requests waiting (2); retry later");
  for (auto& s : streams) s->cancel();
  for (auto& s : streams) EXPECT_EQ(collect(*s).finish, FinishReason::kCancelled);
}

TEST(InferenceEngine, KvCacheSmallerThanOneSequenceIsAUsageError) {
  EXPECT_THROW(InferenceEngine(loaded(), bytes(), small_options(8, 9)), UsageError);  // 40 tokens need 10
}

}  // namespace
}  // namespace ds::engine::infer
