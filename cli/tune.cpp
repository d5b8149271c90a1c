#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_tune(CLI::App& app, GlobalOptions&) {
  register_pending(app, "tune", "Rank ZeRO stage, offload and parallel layouts with a cost model", "search plans and emit a DeepSpeed config");
}

}  // namespace ds::cli
