#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_eval(CLI::App& app, GlobalOptions&) {
  register_pending(app, "eval", "Perplexity of a checkpoint on a token file", "compute perplexity of a checkpoint");
}

}  // namespace ds::cli
