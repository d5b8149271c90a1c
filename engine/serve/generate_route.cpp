#include "engine/serve/generate_route.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>

#include "common/error.hpp"
#include "engine/serve/api_error.hpp"
#include "engine/serve/openai_request.hpp"
#include "engine/serve/peer_watch.hpp"

namespace ds::engine::serve {
namespace {

using Clock = std::chrono::steady_clock;
using ojson = nlohmann::ordered_json;

// How often a waiting handler looks at the deadline, the client and the shutdown state.
constexpr std::chrono::milliseconds kPoll{100};

void check_model(const ServedModel& model, const std::string& requested) {
  if (requested.empty() || requested == model.id) return;
  throw RequestError(format_error("model", "not served here", "\"" + requested + "\"", "\"" + model.id + "\"",
                                  "GET /v1/models lists the served model"),
                     404, "model");
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Records the server-side latencies of one request as its updates arrive.
class LatencyObserver {
 public:
  LatencyObserver(ServerMetrics& metrics, Clock::time_point start) : metrics_(metrics), start_(start) {}
  void on(const GenerationUpdate& update) {
    const auto now = Clock::now();
    if (!update.tokens.empty()) {
      if (!last_token_) {
        metrics_.observe_time_to_first_token(std::chrono::duration<double>(now - start_).count());
      } else {
        // Tokens that arrive together share the gap since the previous ones.
        const double gap = std::chrono::duration<double>(now - *last_token_).count();
        for (std::size_t i = 0; i < update.tokens.size(); ++i) {
          metrics_.observe_inter_token_latency(gap / static_cast<double>(update.tokens.size()));
        }
      }
      last_token_ = now;
    }
    if (update.finish && (*update.finish == FinishReason::kStop || *update.finish == FinishReason::kLength)) {
      metrics_.observe_e2e_latency(std::chrono::duration<double>(now - start_).count());
    }
  }

 private:
  ServerMetrics& metrics_;
  Clock::time_point start_;
  std::optional<Clock::time_point> last_token_;
};

RequestError timed_out(double seconds) {
  return RequestError(format_error("request", "timed out", "no end after " + ojson(seconds).dump() + " s", "",
                                   "lower max_tokens, or raise the server's request timeout"),
                      504);
}

std::string engine_failure(const GenerationUpdate& update) {
  return "generation failed: " + (update.error.empty() ? std::string("the engine gave no reason") : update.error);
}

// The next update, or nullopt once the deadline passed, the server gave up on its requests, or
// `gone()` says the client left. These are checked at least every kPoll, even while updates
// keep coming.
template <typename Gone>
std::optional<GenerationUpdate> next_update(ServerContext& ctx, RequestStream& stream, Clock::time_point deadline,
                                            Clock::time_point& next_check, Gone gone) {
  while (true) {
    auto update = stream.next(kPoll);
    if (update && Clock::now() < next_check) return update;
    next_check = Clock::now() + kPoll;
    if (Clock::now() >= deadline || ctx.abandon || gone()) return std::nullopt;
    if (update) return update;
  }
}

// One SSE response in progress; httplib calls step() until it says done or fails.
struct StreamState {
  ServerContext& ctx;
  std::shared_ptr<RequestStream> stream;
  std::shared_ptr<ActiveRequests::Ticket> ticket;
  ResponseBuilder builder;
  LatencyObserver observer;
  Clock::time_point deadline;
  bool include_usage = false;
  std::optional<GenerationUpdate> pending;  // the first update, already received by the handler
  Clock::time_point next_check = Clock::now() + kPoll;

  bool write(httplib::DataSink& sink, const std::string& text) {
    if (sink.write(text.data(), text.size())) return true;
    stream->cancel();  // the client went away: free its KV blocks now
    return false;
  }

  bool fail(httplib::DataSink& sink, const ApiError& error) {
    // One error event and the stream ends, without [DONE]: clients raise on the error.
    const bool ok = write(sink, sse_event(error.body));
    sink.done();
    return ok;
  }

  bool step(httplib::DataSink& sink) {
    std::optional<GenerationUpdate> update = std::move(pending);
    pending.reset();
    if (!update) {
      update = stream->next(kPoll);
      if (!update || Clock::now() >= next_check) {
        next_check = Clock::now() + kPoll;
        if (!sink.is_writable()) {
          stream->cancel();
          return false;
        }
        if (Clock::now() >= deadline || ctx.abandon) {
          stream->cancel();
          return fail(sink, api_error_from(std::make_exception_ptr(timed_out(ctx.options.request_timeout_s))));
        }
        if (!update) return true;  // nothing yet; httplib calls again
      }
    }
    observer.on(*update);
    if (update->finish == FinishReason::kError) return fail(sink, make_api_error(500, engine_failure(*update)));
    for (const auto& chunk : builder.chunks(*update)) {
      if (!write(sink, sse_event(chunk))) return false;
    }
    if (update->finish) {
      if (include_usage && !write(sink, sse_event(builder.usage_chunk()))) return false;
      if (!write(sink, kSseDone)) return false;
      sink.done();
    }
    return true;
  }
};

// Whether the client of a request hung up; finds its socket on the first question only.
class ClientWatch {
 public:
  explicit ClientWatch(const httplib::Request& req) : req_(req) {}
  bool operator()() {
    if (!peer_) peer_ = PeerWatch::find(req_.local_port, req_.remote_addr, req_.remote_port);
    return left_ = peer_->closed();
  }
  bool left() const { return left_; }

 private:
  const httplib::Request& req_;
  std::optional<PeerWatch> peer_;
  bool left_ = false;
};

// The answer nobody reads: 499 ("client closed request", as nginx says) is for the logs and metrics.
void answer_client_left(httplib::Response& res) {
  const ApiError error = make_api_error(499, "request: cancelled; the client closed the connection");
  res.status = error.status;
  res.set_content(dump_json(error.body), "application/json");
}

void answer_whole(ServerContext& ctx, const PreparedGeneration& p, const std::shared_ptr<RequestStream>& stream,
                  GenerationUpdate update, LatencyObserver& observer, Clock::time_point deadline,
                  ClientWatch& client, httplib::Response& res) {
  ResponseBuilder builder(p.response);
  auto next_check = Clock::now() + kPoll;
  while (true) {
    observer.on(update);
    if (update.finish == FinishReason::kError) throw RuntimeError(engine_failure(update));
    builder.add(update);
    if (update.finish) break;
    auto next = next_update(ctx, *stream, deadline, next_check, [&] { return client(); });
    if (!next) {
      stream->cancel();
      if (client.left()) return answer_client_left(res);
      throw timed_out(ctx.options.request_timeout_s);
    }
    update = std::move(*next);
  }
  res.set_content(dump_json(builder.response()), "application/json");
}

}  // namespace

PreparedGeneration prepare_generation(const ServedModel& model, std::int64_t max_model_len, Api api,
                                      const nlohmann::json& body) {
  PreparedGeneration p;
  SamplingFields fields;
  if (api == Api::kCompletion) {
    CompletionRequest r = parse_completion_request(body);
    check_model(model, r.common.model);
    p.request.prompt = r.prompt_text ? model.encode(*r.prompt_text, true) : r.prompt_ids;
    if (p.request.prompt.empty()) {
      throw RequestError(format_error("prompt", "no tokens", "\"\"", "some text or token ids"), 400, "prompt");
    }
    fields = r.sampling;
    if (!fields.max_tokens) fields.max_tokens = 16;  // OpenAI's default for completions
    p.stream = r.common.stream;
    p.include_usage = r.common.include_usage;
  } else {
    ChatRequest r = parse_chat_request(body);
    check_model(model, r.common.model);
    p.request.prompt = model.encode(model.render_chat(r.messages, r.add_generation_prompt, r.tools), false);
    fields = r.sampling;
    // Chat's default is the rest of the context, as in vLLM; the Generator refuses a full one.
    const auto room = max_model_len - static_cast<std::int64_t>(p.request.prompt.size());
    if (!fields.max_tokens) fields.max_tokens = std::max<std::int64_t>(1, room);
    p.stream = r.common.stream;
    p.include_usage = r.common.include_usage;
  }
  p.request.sampling = apply_sampling(fields, model.default_sampling);
  if (!p.request.sampling.ignore_eos) {
    auto& ids = p.request.sampling.stop_token_ids;
    for (const auto eos : model.eos_token_ids) {
      if (std::find(ids.begin(), ids.end(), eos) == ids.end()) ids.push_back(eos);
    }
  }
  p.response = ResponseOptions{api, new_response_id(api), unix_now(), model.id, fields.logprobs, model.token_text};
  return p;
}

void post_generate(ServerContext& ctx, Api api, const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  auto ticket = ctx.active.enter();
  // Checked after enter() so that stop() either sees this request or this request sees stop().
  if (ctx.stopping) throw RequestError("server: shutting down; hint: retry on another replica", 503);
  PreparedGeneration p = prepare_generation(ctx.model, ctx.generator.max_model_len(), api, parse_json_body(req.body));
  std::shared_ptr<RequestStream> stream = ctx.generator.submit(std::move(p.request));
  ticket->attach(stream);
  const auto deadline = ctx.options.request_timeout_s > 0
                            ? start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(ctx.options.request_timeout_s))
                            : Clock::time_point::max();
  // Wait for the first update before committing to 200, so that a request the engine rejects
  // at once gets a normal JSON error.
  // A client that leaves while its request waits in the queue or in prefill cancels it too.
  ClientWatch client(req);
  auto next_check = Clock::now() + kPoll;
  auto first = next_update(ctx, *stream, deadline, next_check, [&] { return client(); });
  if (!first) {
    stream->cancel();
    if (client.left()) return answer_client_left(res);
    throw timed_out(ctx.options.request_timeout_s);
  }
  if (first->finish == FinishReason::kError) throw RuntimeError(engine_failure(*first));
  LatencyObserver observer(ctx.metrics, start);
  if (!p.stream) {
    answer_whole(ctx, p, stream, std::move(*first), observer, deadline, client, res);
    return;
  }
  auto state = std::make_shared<StreamState>(StreamState{ctx, stream, ticket, ResponseBuilder(p.response), observer,
                                                         deadline, p.include_usage, std::move(first)});
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // proxies such as nginx must not hold chunks back
  res.set_chunked_content_provider(
      "text/event-stream", [state](std::size_t, httplib::DataSink& sink) { return state->step(sink); },
      [state](bool success) {
        // httplib lets go of the response: done, or the connection broke before the end.
        if (!success) state->stream->cancel();
        state->ticket.reset();
      });
}

}  // namespace ds::engine::serve
