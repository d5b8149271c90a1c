#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_train(CLI::App& app, GlobalOptions&) {
  register_pending(app, "train", "Train a model with ZeRO 0-3, offload and mixed precision", "train built-in models");
}

}  // namespace ds::cli
