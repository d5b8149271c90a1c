#include "engine/serve/http_server.hpp"

#include <httplib.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/serve/api_error.hpp"
#include "engine/serve/generate_route.hpp"
#include "engine/serve/server_context.hpp"

namespace ds::engine::serve {
namespace {

using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
using Handler = std::function<void(ServerContext&, const httplib::Request&, httplib::Response&)>;

// How long stop() waits for cancelled requests to end before it stops waiting for them.
constexpr std::chrono::seconds kCancelDrain{5};

void write_error(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  // OpenAI's clients wait this long before they retry a 429 or 503 (they retry those by default).
  if (error.status == 429 || error.status == 503) res.set_header("Retry-After", "1");
  res.set_content(dump_json(error.body), "application/json");
}

void write_json(httplib::Response& res, const ojson& body) { res.set_content(dump_json(body), "application/json"); }

// --- the routes, named <method>_<path> -------------------------------------------------------

void get_health(ServerContext& ctx, const httplib::Request&, httplib::Response& res) {
  if (ctx.stopping) {
    write_error(res, make_api_error(503, "server: shutting down"));
    return;
  }
  write_json(res, ojson{{"status", "ok"}});
}

void get_metrics(ServerContext& ctx, const httplib::Request&, httplib::Response& res) {
  res.set_content(ctx.metrics.render(ctx.generator.stats()), "text/plain; version=0.0.4; charset=utf-8");
}

void get_v1_models(ServerContext& ctx, const httplib::Request&, httplib::Response& res) {
  ojson model{{"id", ctx.model.id},
              {"object", "model"},
              {"created", ctx.model.created},
              {"owned_by", "ds"},
              {"max_model_len", ctx.generator.max_model_len()}};
  write_json(res, ojson{{"object", "list"}, {"data", ojson::array({model})}});
}

void post_v1_completions(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  post_generate(ctx, Api::kCompletion, req, res);
}

void post_v1_chat_completions(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  post_generate(ctx, Api::kChat, req, res);
}

struct Route {
  const char* method;
  const char* path;
  Handler handler;
  bool open;  // no API key needed, and answered while stopping (health says 503 itself)
};

// The one route table.
const std::vector<Route>& routes() {
  static const std::vector<Route> table = {
      {"POST", "/v1/completions", post_v1_completions, false},
      {"POST", "/v1/chat/completions", post_v1_chat_completions, false},
      {"GET", "/v1/models", get_v1_models, false},
      {"GET", "/health", get_health, true},
      {"GET", "/metrics", get_metrics, true},
  };
  return table;
}

std::string route_list() {
  std::string out;
  for (const auto& r : routes()) out += (out.empty() ? "" : ", ") + std::string(r.method) + " " + r.path;
  return out;
}

// Compares without an early exit, so response times do not tell how much of a key was right
// (the length still shows; keys are long and random).
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void check_api_key(const ServerContext& ctx, const httplib::Request& req) {
  if (ctx.options.api_key.empty()) return;
  const std::string given = req.get_header_value("Authorization");
  const std::string hint = "send the key the server was started with (DS_API_KEY)";
  if (given.empty()) {
    throw RequestError(format_error("Authorization header", "missing", "", "\"Bearer <api key>\"", hint), 401);
  }
  if (!same_secret(given, "Bearer " + ctx.options.api_key)) {
    throw RequestError(format_error("Authorization header", "wrong API key", "", "\"Bearer <api key>\"", hint), 401);
  }
}

// Answers for what httplib refuses before any route runs (no route, body too large, bad syntax).
ApiError http_layer_error(const httplib::Request& req, const httplib::Response& res, std::size_t max_body_bytes) {
  if (res.status == 404) {
    std::string allowed;
    for (const auto& r : routes()) {
      if (req.path == r.path) allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
    }
    if (!allowed.empty()) {
      return make_api_error(405, format_error(req.path, "method not allowed", req.method, allowed));
    }
    return make_api_error(404, format_error("route", "not found", req.method + " " + req.path, route_list()));
  }
  if (res.status == 413) {
    const std::string length = req.get_header_value("Content-Length");
    return make_api_error(413, format_error("request body", "too large", length.empty() ? "" : length + " bytes",
                                            "at most " + std::to_string(max_body_bytes) + " bytes",
                                            "send a shorter prompt, or start the server with a larger body limit"));
  }
  return make_api_error(res.status,
                        format_error("request", "refused by the HTTP layer", "status " + std::to_string(res.status)));
}

std::string route_label(const httplib::Request& req) {
  for (const auto& r : routes()) {
    if (req.path == r.path) return r.path;
  }
  return "other";  // unknown paths share one label, so a scanner cannot blow up the metric
}

}  // namespace

struct HttpServer::Impl {
  Impl(Generator& g, ServedModel m, ServerOptions o) : ctx(g, std::move(m), std::move(o)) {}
  ServerContext ctx;
  httplib::Server http;
  std::thread thread;
  std::atomic<int> port{0};           // read by other threads while run() serves
  std::atomic<bool> serving{false};   // from start()/run() until the listener has returned
  std::mutex stop_mutex;
  bool stopped = false;

  void install();
  void bind();
};

void HttpServer::Impl::install() {
  const std::size_t threads = ctx.options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(ctx.options.max_body_bytes);
  // httplib's default also sets SO_REUSEPORT, with which a second server on the same port binds
  // silently and the kernel splits connections between the two. SO_REUSEADDR alone still allows
  // a quick restart over sockets in TIME_WAIT.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  for (const auto& route : routes()) {
    // The handler wrapper: nothing escapes it, every error leaves in OpenAI's shape.
    auto wrapped = [this, &route](const httplib::Request& req, httplib::Response& res) {
      try {
        if (!route.open) {
          if (ctx.stopping) throw RequestError("server: shutting down; hint: retry on another replica", 503);
          check_api_key(ctx, req);
        }
        route.handler(ctx, req, res);
      } catch (...) {
        const ApiError error = api_error_from(std::current_exception());
        if (error.status >= 500) {
          log::warn("serve: ", req.method, " ", req.path, ": ", error.body["error"]["message"].get<std::string>());
        }
        write_error(res, error);
      }
    };
    if (std::string(route.method) == "GET") {
      http.Get(route.path, wrapped);
    } else {
      http.Post(route.path, wrapped);
    }
  }
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route's own error answer
    write_error(res, http_layer_error(req, res, ctx.options.max_body_bytes));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    write_error(res, api_error_from(error));  // backstop: the wrapper already catches everything
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    ctx.metrics.count_request(route_label(req), res.status);
    log::debug("serve: ", req.method, " ", req.path, " -> ", res.status);
  });
  if (ctx.options.cors) {
    http.set_default_headers({{"Access-Control-Allow-Origin", "*"}});
    http.Options(".*", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.status = 204;
    });
  }
}

void HttpServer::Impl::bind() {
  const auto& o = ctx.options;
  if (ctx.stopping) throw RuntimeError("serve: stop() was called before the server started");
  const int bound = o.port == 0 ? http.bind_to_any_port(o.host) : (http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (bound <= 0) {
    throw RuntimeError(format_error("--host/--port", "cannot listen", o.host + ":" + std::to_string(o.port), "",
                                    "is another server on that port? choose another with --port (0 = any free)"));
  }
  port = bound;
  log::info("serve: listening on http://", o.host, ":", bound, " (model ", ctx.model.id, ")");
}

HttpServer::HttpServer(Generator& generator, ServedModel model, ServerOptions options)
    : impl_(std::make_unique<Impl>(generator, std::move(model), std::move(options))) {
  impl_->install();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  impl_->serving = true;
  try {
    impl_->bind();
  } catch (...) {
    impl_->serving = false;
    throw;
  }
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->http.listen_after_bind();
    impl->serving = false;
  });
}

void HttpServer::run() {
  impl_->serving = true;
  try {
    impl_->bind();
    impl_->http.listen_after_bind();
  } catch (...) {
    impl_->serving = false;
    throw;
  }
  impl_->serving = false;
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  ServerContext& ctx = impl_->ctx;
  ctx.stopping = true;
  const auto grace =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(ctx.options.shutdown_grace_s));
  if (!ctx.active.wait_idle(Clock::now() + grace)) {
    log::warn("serve: ", ctx.active.count(), " request(s) still running after ", ctx.options.shutdown_grace_s,
              " s; cancelling them");
    ctx.active.cancel_all();
    if (!ctx.active.wait_idle(Clock::now() + kCancelDrain)) {
      ctx.abandon = true;  // the engine did not finish them: stop waiting for it
      ctx.active.wait_idle(Clock::now() + kCancelDrain);
    }
  }
  // httplib's stop() does nothing until listen_after_bind() has marked itself running, which a
  // stop() right after start() can beat: repeat it until the listener is gone.
  while (impl_->serving) {
    impl_->http.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ds::engine::serve
