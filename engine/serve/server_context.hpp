#pragma once
// What the server's routes share (private to engine/serve): the generator, the model, the
// options, the metrics and the shutdown state.
#include <atomic>

#include "engine/serve/active_requests.hpp"
#include "engine/serve/generation.hpp"
#include "engine/serve/http_server.hpp"
#include "engine/serve/metrics.hpp"
#include "engine/serve/served_model.hpp"

namespace ds::engine::serve {

struct ServerContext {
  ServerContext(Generator& g, ServedModel m, ServerOptions o)
      : generator(g), model(std::move(m)), options(std::move(o)) {}

  Generator& generator;
  const ServedModel model;
  const ServerOptions options;
  ServerMetrics metrics;
  ActiveRequests active;
  std::atomic<bool> stopping{false};  ///< set by stop(): health 503, new requests 503
  std::atomic<bool> abandon{false};   ///< set by stop() when cancelled requests did not end: stop waiting
};

}  // namespace ds::engine::serve
