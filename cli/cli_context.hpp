#pragma once
#include <string>

namespace CLI {
class App;
}

namespace ds::cli {

/// Flags every subcommand shares (declared on the top-level app in main.cpp).
struct GlobalOptions {
  std::string db_path;  ///< --db; empty: $DS_HOME/ds.db, else ~/.cache/ds/ds.db
  bool json = false;    ///< --json: machine-readable output on stdout
  int verbose = 0;      ///< -v count
  bool quiet = false;   ///< -q
};

/// Registers a subcommand that a later issue builds: it parses, then says plainly that it is
/// not part of this build yet and exits with code 2.
void register_pending(CLI::App& app, const std::string& name, const std::string& description,
                      const std::string& what_it_will_do);

// One register function per subcommand, each in cli/<name>.cpp.
void register_bench(CLI::App& app, GlobalOptions& global);
void register_checkpoint(CLI::App& app, GlobalOptions& global);
void register_config(CLI::App& app, GlobalOptions& global);
void register_data(CLI::App& app, GlobalOptions& global);
void register_env(CLI::App& app, GlobalOptions& global);
void register_estimate(CLI::App& app, GlobalOptions& global);
void register_eval(CLI::App& app, GlobalOptions& global);
void register_generate(CLI::App& app, GlobalOptions& global);
void register_profile(CLI::App& app, GlobalOptions& global);
void register_serve(CLI::App& app, GlobalOptions& global);
void register_tokenize(CLI::App& app, GlobalOptions& global);
void register_train(CLI::App& app, GlobalOptions& global);
void register_tune(CLI::App& app, GlobalOptions& global);

}  // namespace ds::cli
