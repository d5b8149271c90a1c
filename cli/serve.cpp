#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_serve(CLI::App& app, GlobalOptions&) {
  register_pending(app, "serve", "OpenAI-compatible HTTP server", "serve /v1/completions and /v1/chat/completions");
}

}  // namespace ds::cli
