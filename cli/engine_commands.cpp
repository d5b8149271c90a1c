// ds-engine's subcommands that need LibTorch; the light `ds` registers stand-ins for the same
// names (cli/engine_forward.cpp). Help lists them in this order.
#include <cstdlib>
#include <string_view>

#include "cli/cli_context.hpp"
#include "common/log.hpp"
#include "engine/host_allocator.hpp"

namespace ds::cli {

void register_engine_commands(CLI::App& app, GlobalOptions& global) {
  // Every engine command runs in this process (ranks too: the launcher starts ds-engine), so the
  // allocator is set once here, before any tensor exists. DS_KEEP_HOST_MEMORY=0 keeps glibc's
  // defaults (to compare, or under a preloaded allocator that reads its own settings).
  const char* keep = std::getenv("DS_KEEP_HOST_MEMORY");
  if ((keep == nullptr || std::string_view(keep) != "0") && !engine::keep_freed_host_memory()) {
    log::debug("host allocator: the C library kept its default thresholds");
  }
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
