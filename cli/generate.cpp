#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_generate(CLI::App& app, GlobalOptions&) {
  register_pending(app, "generate", "Generate text from a checkpoint", "stream generated text");
}

}  // namespace ds::cli
