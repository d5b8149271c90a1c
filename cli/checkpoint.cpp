#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_checkpoint(CLI::App& app, GlobalOptions&) {
  register_pending(app, "checkpoint", "Inspect checkpoints and export them to Hugging Face safetensors", "export checkpoints with --hf");
}

}  // namespace ds::cli
