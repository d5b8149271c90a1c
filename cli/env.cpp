#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_env(CLI::App& app, GlobalOptions&) {
  register_pending(app, "env", "Report the build, LibTorch, CUDA, BLAS, SIMD and database", "report the environment");
}

}  // namespace ds::cli
