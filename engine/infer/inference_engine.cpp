#include "engine/infer/inference_engine.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/env_report.hpp"
#include "engine/infer/kv_cache.hpp"
#include "engine/infer/scheduler.hpp"
#include "engine/infer/sequence.hpp"

namespace ds::engine::infer {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::int64_t available_memory_bytes() {
  return static_cast<std::int64_t>(meminfo_bytes(read_file("/proc/meminfo"), "MemAvailable"));
}

/// The longest suffix of `text` that is a proper prefix of some stop string: held back, since
/// the next token may complete the stop string.
std::size_t held_back(const std::string& text, const std::vector<std::string>& stops) {
  std::size_t hold = 0;
  for (const auto& stop : stops) {
    for (std::size_t n = std::min(stop.size() - 1, text.size()); n > hold; --n) {
      if (text.compare(text.size() - n, n, stop, 0, n) == 0) { hold = n; break; }
    }
  }
  return hold;
}

/// Where the earliest stop string starts in `text` at or after `from`, or npos.
std::size_t find_stop(const std::string& text, std::size_t from, const std::vector<std::string>& stops) {
  std::size_t best = std::string::npos;
  for (const auto& stop : stops) {
    if (stop.empty()) continue;
    const auto start = from >= stop.size() ? from - stop.size() + 1 : 0;
    const auto at = text.find(stop, start);
    if (at != std::string::npos) best = std::min(best, at);
  }
  return best;
}

}  // namespace

struct InferenceEngine::State {
  State(const estimators::ModelSpec& spec, std::int64_t num_blocks, const EngineOptions& options,
        torch::ScalarType dtype, torch::Device device)
      : allocator(num_blocks, options.block_size),
        cache(spec, num_blocks, options.block_size, dtype, device),
        scheduler(allocator, {options.max_batch_tokens, options.max_running}) {}
  BlockAllocator allocator;
  KvCache cache;
  Scheduler scheduler;
};

InferenceEngine::InferenceEngine(checkpoint::LoadedModel model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
                                 const EngineOptions& options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(options) {
  const auto& spec = model_.spec;
  max_model_len_ = options.max_model_len > 0 ? std::min(options.max_model_len, spec.max_seq) : spec.max_seq;
  if (options.block_size < 1 || options.max_batch_tokens < 1 || options.max_running < 1) {
    throw UsageError(format_error("serve options", "block size, --max-batch-tokens and --max-running must be >= 1"));
  }
  const auto params = model_.model->parameters();
  const auto dtype = params.empty() ? torch::kFloat : params.front().scalar_type();
  const auto device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  const auto block_bytes = kv_block_bytes(spec, options.block_size, dtype);
  const auto blocks_per_seq = (max_model_len_ + options.block_size - 1) / options.block_size;
  // No use for more blocks than every running sequence at full length needs.
  std::int64_t num_blocks = blocks_per_seq * options.max_running;
  if (options.kv_cache_bytes > 0) {
    num_blocks = options.kv_cache_bytes / block_bytes;
  } else if (device.is_cpu()) {
    const auto avail = available_memory_bytes();
    if (avail > 0) num_blocks = std::min(num_blocks, static_cast<std::int64_t>(options.kv_cache_fraction * avail) / block_bytes);
  }
  if (num_blocks < blocks_per_seq) {
    throw UsageError(format_error("--kv-cache-mem", "the KV cache cannot hold one sequence of the model's full length",
                                  std::to_string(num_blocks * block_bytes) + " bytes",
                                  "at least " + std::to_string(blocks_per_seq * block_bytes) + " bytes",
                                  "raise --kv-cache-mem or lower --max-model-len"));
  }
  kv_info_ = {num_blocks, options.block_size, num_blocks * block_bytes};
  state_ = std::make_unique<State>(spec, num_blocks, options, dtype, device);
  stats_.kv_blocks_total = num_blocks;
  thread_ = std::thread([this] { loop(); });
}

InferenceEngine::~InferenceEngine() { shutdown(); }

void InferenceEngine::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<serve::RequestStream> InferenceEngine::submit(serve::GenerationRequest request) {
  const auto prompt = static_cast<std::int64_t>(request.prompt.size());
  if (prompt == 0) throw RequestError("prompt: empty; expected at least one token", 400, "prompt");
  const auto vocab = model_.spec.vocab;
  for (auto id : request.prompt) {
    if (static_cast<std::int64_t>(id) >= vocab) {
      throw RequestError(format_error("prompt", "token id out of the vocabulary", std::to_string(id),
                                      "below " + std::to_string(vocab)), 400, "prompt");
    }
  }
  if (request.sampling.max_tokens < 1) {
    throw RequestError(format_error("max_tokens", "must be at least 1", std::to_string(request.sampling.max_tokens)), 400,
                       "max_tokens");
  }
  if (prompt + request.sampling.max_tokens > max_model_len_) {
    throw RequestError("This model's maximum context length is " + std::to_string(max_model_len_) +
                           " tokens. However, you requested " + std::to_string(prompt + request.sampling.max_tokens) +
                           " tokens (" + std::to_string(prompt) + " in the prompt, " +
                           std::to_string(request.sampling.max_tokens) +
                           " in the completion). Please reduce the prompt or max_tokens.",
                       400, "max_tokens");
  }
  auto seq = std::make_unique<Sequence>();
  seq->tokens = std::move(request.prompt);
  seq->prompt_tokens = prompt;
  seq->sampling = request.sampling;
  seq->sampler = std::make_unique<Sampler>(request.sampling);
  for (auto id : seq->tokens) seq->sampler->observe_prompt(id);
  seq->decoder = std::make_unique<tokenizer::StreamDecoder>(*tokenizer_);
  seq->stream = std::make_shared<serve::RequestStream>();
  seq->submitted_s = now_s();
  auto stream = seq->stream;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw RequestError("the server is shutting down", 503);
    if (stats_.waiting + static_cast<std::int64_t>(inbox_.size()) >= options_.max_waiting) {
      throw RequestError("too many requests waiting (" + std::to_string(options_.max_waiting) + "); retry later", 429);
    }
    seq->id = next_id_++;
    inbox_.push_back(std::move(seq));
  }
  wake_.notify_all();
  return stream;
}

serve::EngineStats InferenceEngine::stats() const {
  std::lock_guard lock(mutex_);
  auto s = stats_;
  s.waiting += static_cast<std::int64_t>(inbox_.size());
  return s;
}

void InferenceEngine::loop() {
  torch::NoGradGuard no_grad;
  auto& sched = state_->scheduler;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(50),
                     [&] { return stopping_ || !inbox_.empty() || !sched.idle(); });
      for (auto& seq : inbox_) sched.add(std::move(seq));
      inbox_.clear();
      // Counted as waiting from the moment they leave the inbox: submit() checks stats_.waiting
      // plus the inbox, and would otherwise see neither until this pass ends (and admit too many).
      stats_.waiting = sched.waiting();
      if (stopping_) break;
    }
    try {
      step();
    } catch (const std::exception& e) {
      log::error("inference step failed: ", e.what());
      for (auto& seq : sched.take_if([](const Sequence&) { return true; })) {
        serve::GenerationUpdate u;
        u.finish = serve::FinishReason::kError;
        u.error = e.what();
        seq->stream->push(std::move(u));
      }
    }
    std::lock_guard lock(mutex_);
    stats_.running = sched.running();
    stats_.waiting = sched.waiting();
    stats_.kv_blocks_used = state_->allocator.num_used();
    stats_.preemptions = sched.preemptions();
  }
  for (auto& seq : sched.take_if([](const Sequence&) { return true; })) {
    serve::GenerationUpdate u;
    u.finish = serve::FinishReason::kCancelled;
    u.prompt_tokens = seq->prompt_tokens;
    u.completion_tokens = seq->generated();
    seq->stream->push(std::move(u));
  }
}

void InferenceEngine::step() {
  auto& sched = state_->scheduler;
  // Updates are pushed last, after stats() counts this pass: a caller that sees its request end
  // and reads stats() finds its blocks back in the pool and the request counted as finished.
  std::vector<std::pair<std::shared_ptr<serve::RequestStream>, serve::GenerationUpdate>> updates;
  auto publish = [&] {
    {
      std::lock_guard lock(mutex_);
      stats_.running = sched.running();
      stats_.waiting = sched.waiting();
      stats_.kv_blocks_used = state_->allocator.num_used();
      stats_.preemptions = sched.preemptions();
    }
    for (auto& [stream, u] : updates) stream->push(std::move(u));
  };
  for (auto& seq : sched.take_if([](const Sequence& s) { return s.stream->cancelled(); })) {
    serve::GenerationUpdate u;
    u.finish = serve::FinishReason::kCancelled;
    u.prompt_tokens = seq->prompt_tokens;
    u.completion_tokens = seq->generated();
    updates.emplace_back(seq->stream, std::move(u));
  }
  auto chunks = sched.schedule();
  if (chunks.empty()) return publish();

  std::vector<std::int64_t> ids, positions, rows;
  std::vector<SequenceSlice> slices;
  std::int64_t prompt_tokens = 0;
  for (const auto& c : chunks) {
    for (auto p = c.past; p < c.past + c.new_tokens; ++p) {
      ids.push_back(c.seq->tokens[static_cast<std::size_t>(p)]);
      positions.push_back(p);
      if (p < c.seq->prompt_tokens) ++prompt_tokens;
    }
    if (c.samples) rows.push_back(static_cast<std::int64_t>(ids.size()) - 1);
    slices.push_back({c.past, c.new_tokens, &c.seq->blocks});
  }
  auto& lm = *model_.model;
  const auto device = state_->cache.keys(0).device();
  auto to_device = [&](const std::vector<std::int64_t>& v) { return torch::tensor(v, torch::kLong).to(device); };
  PagedAttention attention(state_->cache, slices, lm.options().attention, device);
  // A pass of prefill chunks only still asks for one row: index_select needs a non-empty index.
  auto logits = lm.forward_cached(to_device(ids).unsqueeze(0), to_device(positions).unsqueeze(0), attention,
                                  to_device(rows.empty() ? std::vector<std::int64_t>{0} : rows))
                    .to(torch::kFloat)
                    .cpu()
                    .contiguous();
  sched.committed(chunks);

  std::int64_t generated = 0;
  std::size_t row = 0;
  std::vector<const Sequence*> finished;
  for (const auto& c : chunks) {
    if (!c.samples) continue;
    Sequence& seq = *c.seq;
    const float* data = logits[static_cast<std::int64_t>(row++)].data_ptr<float>();
    std::vector<float> values(data, data + logits.size(1));
    auto token = seq.sampler->sample(values);
    ++generated;
    seq.tokens.push_back(token.id);
    // A token's own text is only reported with its logprob; the streamed text comes from the decoder.
    if (seq.sampling.logprobs) token.text = tokenizer_->decode(std::span<const std::uint32_t>(&token.id, 1));

    serve::GenerationUpdate u;
    const auto& stop_ids = seq.sampling.stop_token_ids;
    const bool stop_token = std::find(stop_ids.begin(), stop_ids.end(), token.id) != stop_ids.end();
    if (stop_token) {
      u.finish = serve::FinishReason::kStop;
      seq.text += seq.decoder->flush();  // bytes of an unfinished character still come out (as U+FFFD)
    } else {
      seq.text += seq.decoder->push(token.id);
    }
    const bool at_length = seq.generated() >= seq.sampling.max_tokens ||
                           static_cast<std::int64_t>(seq.tokens.size()) >= max_model_len_;
    if (!u.finish && at_length) {
      u.finish = serve::FinishReason::kLength;
      seq.text += seq.decoder->flush();
    }
    std::size_t end = seq.text.size();
    const auto stop_at = find_stop(seq.text, seq.sent, seq.sampling.stop);
    if (stop_at != std::string::npos) {
      end = stop_at;
      u.finish = serve::FinishReason::kStop;
    } else if (!u.finish) {
      end -= held_back(seq.text, seq.sampling.stop);
    }
    if (end > seq.sent) {
      u.text = seq.text.substr(seq.sent, end - seq.sent);
      seq.sent = end;
    }
    u.tokens.push_back(std::move(token));
    u.prompt_tokens = seq.prompt_tokens;
    u.completion_tokens = seq.generated();
    if (!seq.first_token_sent) {
      u.time_to_first_token_s = now_s() - seq.submitted_s;
      seq.first_token_sent = true;
    }
    if (u.finish) finished.push_back(&seq);
    updates.emplace_back(seq.stream, std::move(u));
  }
  if (!finished.empty()) {
    const auto done = sched.take_if([&](const Sequence& s) {
      return std::find(finished.begin(), finished.end(), &s) != finished.end();
    });
    std::lock_guard lock(mutex_);
    stats_.requests_finished += static_cast<std::int64_t>(done.size());
  }
  {
    std::lock_guard lock(mutex_);
    stats_.forward_passes += 1;
    stats_.prompt_tokens += prompt_tokens;
    stats_.generated_tokens += generated;
  }
  publish();
}

}  // namespace ds::engine::infer
