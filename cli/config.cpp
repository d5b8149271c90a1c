#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_config(CLI::App& app, GlobalOptions&) {
  register_pending(app, "config", "Check and convert DeepSpeed JSON / TOML configs", "validate and convert configs");
}

}  // namespace ds::cli
