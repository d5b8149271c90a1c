// ds-engine's subcommands that need LibTorch; the light `ds` registers stand-ins for the same
// names (cli/engine_forward.cpp). Help lists them in this order.
#include "cli/cli_context.hpp"

namespace ds::cli {

void register_engine_commands(CLI::App& app, GlobalOptions& global) {
  register_train(app, global);
  register_eval(app, global);
  register_data(app, global);
  register_checkpoint(app, global);
  register_generate(app, global);
  register_serve(app, global);
  register_tokenize(app, global);
  register_bench(app, global);
  register_env(app, global);
}

}  // namespace ds::cli
