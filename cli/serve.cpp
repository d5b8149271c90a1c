// `ds serve`: an OpenAI-compatible HTTP server (engine/serve) over the inference engine
// (engine/infer), until SIGTERM or Ctrl-C, which shut it down gracefully.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>

#include "cli/cli_context.hpp"
#include "cli/serving_flags.hpp"
#include "common/units.hpp"
#include "engine/serve/http_server.hpp"

namespace ds::cli {
namespace {

struct ServeFlags {
  ServingFlags serving;
  engine::serve::ServerOptions server;
  std::string max_body = "4MiB";
};

void run_serve(ServeFlags& f, const GlobalOptions& global) {
  // Block SIGTERM/SIGINT in every thread (the engine's and the server's inherit the mask), so
  // this thread alone receives them through sigwait and can shut down in order.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (const char* key = std::getenv("DS_API_KEY"); key && f.server.api_key.empty()) f.server.api_key = key;
  f.server.max_body_bytes = static_cast<std::size_t>(parse_bytes(f.max_body, "--max-body"));
  auto s = engine::infer::open_serving(serving_options(f.serving));
  engine::serve::HttpServer server(*s.engine, s.model, f.server);
  server.start();
  const auto& kv = s.engine->kv_cache();
  if (global.json) {
    std::printf("{\"event\": \"listening\", \"host\": \"%s\", \"port\": %d, \"model\": \"%s\"}\n", f.server.host.c_str(),
                server.port(), s.model.id.c_str());
  } else if (!global.quiet) {
    std::printf("ds serve: %s (%s, %s on %s), KV cache %s in %lld blocks of %lld tokens, context %lld\n",
                s.model.id.c_str(), s.weights.string().c_str(), s.dtype_name.c_str(), s.device_name.c_str(),
                format_bytes(static_cast<double>(kv.bytes)).c_str(), static_cast<long long>(kv.num_blocks),
                static_cast<long long>(kv.block_size), static_cast<long long>(s.engine->max_model_len()));
    std::printf("ds serve: listening on http://%s:%d/v1%s (Ctrl-C to stop)\n", f.server.host.c_str(), server.port(),
                f.server.api_key.empty() ? "" : ", API key required");
  }
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  if (!global.quiet && !global.json) std::printf("ds serve: %s received, finishing running requests\n", received == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  server.stop();
  s.engine->shutdown();
}

}  // namespace

void register_serve(CLI::App& app, GlobalOptions& global) {
  auto f = std::make_shared<ServeFlags>();
  auto* sub = app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
  add_serving_flags(sub, f->serving);
  sub->add_option("--host", f->server.host, "address to listen on (0.0.0.0: every interface)")->capture_default_str();
  sub->add_option("--port", f->server.port, "TCP port; 0 picks a free one")->capture_default_str();
  sub->add_option("--served-model-name", f->serving.options.served_name, "the model name clients use (default: the directory's)");
  sub->add_option("--api-key", f->server.api_key, "require 'Authorization: Bearer KEY' on /v1 (or set DS_API_KEY)");
  sub->add_option("--max-waiting", f->serving.options.engine.max_waiting, "queued requests beyond which clients get 429")
      ->capture_default_str();
  sub->add_option("--max-body", f->max_body, "largest request body")->capture_default_str();
  sub->add_option("--request-timeout", f->server.request_timeout_s, "seconds before a request is cancelled (0: never)")
      ->capture_default_str();
  sub->add_option("--shutdown-grace", f->server.shutdown_grace_s, "seconds running requests get to finish on SIGTERM")
      ->capture_default_str();
  sub->add_flag("--cors", f->server.cors, "answer browsers' cross-origin requests");
  sub->callback([f, &global] { run_serve(*f, global); });
}

}  // namespace ds::cli
