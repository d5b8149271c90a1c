#pragma once
// `ds serve`'s OpenAI-compatible HTTP server: POST /v1/completions, POST /v1/chat/completions
// (both with SSE streaming), GET /v1/models, GET /health, GET /metrics. It turns requests into
// GenerationRequests for a Generator and the Generator's updates into OpenAI's responses; the
// engine knows nothing of HTTP. cpp-httplib stays out of this header.
#include <cstddef>
#include <memory>
#include <string>

#include "engine/serve/generation.hpp"
#include "engine/serve/served_model.hpp"

namespace ds::engine::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  ///< address to listen on; "0.0.0.0" for every interface
  int port = 8000;                 ///< TCP port; 0 picks a free one (HttpServer::port() says which)
  /// When set, every /v1 route needs "Authorization: Bearer <api_key>" (else 401); /health and
  /// /metrics stay open. The CLI reads DS_API_KEY; this library reads no environment.
  std::string api_key;
  /// Request bodies above this many bytes get 413. 4 MiB holds a 128K-token prompt as text or ids.
  std::size_t max_body_bytes = 4u << 20;
  /// A request still running after this many seconds is cancelled (504, or an error event on a
  /// stream); 0 = no limit.
  double request_timeout_s = 600.0;
  /// stop() lets running requests finish for this long, then cancels them (seconds).
  double shutdown_grace_s = 30.0;
  /// Connections served at once (worker threads); a stream holds one for its whole length.
  std::size_t threads = 64;
  /// Adds Access-Control-Allow-Origin: * and answers CORS preflight (OPTIONS) requests.
  bool cors = false;
};

class HttpServer {
 public:
  /// `generator` must outlive the server.
  HttpServer(Generator& generator, ServedModel model, ServerOptions options);
  /// Stops (gracefully) if still running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and serves on a background thread; returns once the port accepts connections.
  /// Throws RuntimeError when the address cannot be bound.
  void start();
  /// Binds and serves on the calling thread until stop() is called from another thread.
  void run();
  /// The bound port (the picked one when ServerOptions::port was 0); 0 before start()/run().
  int port() const;
  /// Graceful shutdown: /health turns 503, new requests get 503, running requests get
  /// shutdown_grace_s to finish and are cancelled after it, then the listener closes. Blocks
  /// until done; idempotent. Call it from a normal thread (one that waits for SIGTERM/SIGINT
  /// with sigwait, say), not from inside a signal handler.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds::engine::serve
