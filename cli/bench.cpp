#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_bench(CLI::App& app, GlobalOptions&) {
  register_pending(app, "bench", "Performance suites with stored baselines and a regression verdict", "run named suites and compare them with a stored baseline");
}

}  // namespace ds::cli
