#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_estimate(CLI::App& app, GlobalOptions&) {
  register_pending(app, "estimate", "Estimate parameters and peak memory of a training run", "estimate memory per GPU, CPU and NVMe");
}

}  // namespace ds::cli
