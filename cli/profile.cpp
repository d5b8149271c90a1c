#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_profile(CLI::App& app, GlobalOptions&) {
  register_pending(app, "profile", "Measure this machine and store the profile", "measure CPU, GPU, collectives and disk");
}

}  // namespace ds::cli
