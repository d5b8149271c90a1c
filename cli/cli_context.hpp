#pragma once
#include <string>

namespace CLI {
class App;
}
namespace ds::bench {
class Registry;
}
namespace ds::profiles {
struct CollectiveBenchOptions;
struct ProbeOptions;
struct Profile;
}  // namespace ds::profiles

namespace ds::cli {

/// Flags every subcommand shares (declared on the top-level app in main.cpp).
struct GlobalOptions {
  std::string db_path;  ///< --db; empty: $DS_HOME/ds.db, else ~/.cache/ds/ds.db
  bool json = false;    ///< --json: machine-readable output on stdout
  int verbose = 0;      ///< -v count
  bool quiet = false;   ///< -q
  char** argv = nullptr;  ///< the command line as typed (null-terminated), handed unchanged to ds-engine
};

/// Registers a subcommand that a later issue builds: it parses, then says plainly that it is
/// not part of this build yet and exits with code 2.
void register_pending(CLI::App& app, const std::string& name, const std::string& description,
                      const std::string& what_it_will_do);

// Two executables share this folder (cli/CMakeLists.txt): `ds` links only the torch-free core and
// starts in milliseconds; `ds-engine` links LibTorch as well. Each links its own definition of the
// functions below: ds-engine the real ones (cli/engine_commands.cpp, cli/profile_measure.cpp), ds
// stand-ins that replace the process with ds-engine on the same command line (cli/engine_forward.cpp).

/// Registers the subcommands that need LibTorch (train, eval, data, checkpoint, ..., env).
void register_engine_commands(CLI::App& app, GlobalOptions& global);
/// `ds profile` without a verb: runs the probes (LibTorch) and returns the profile, not yet stored.
profiles::Profile measure_this_machine(const profiles::ProbeOptions& options, const GlobalOptions& global);
/// `ds profile collectives-worker`: one rank of the collective probe.
void run_collectives_worker(const profiles::CollectiveBenchOptions& options, const GlobalOptions& global);
/// `ds bench`'s cases that need LibTorch: ds-engine replaces the names bench/core_cases.cpp
/// registers with the real cases (cli/bench_engine_cases.cpp) and returns true; ds leaves the
/// names and returns false.
bool add_engine_bench_cases(bench::Registry& registry);
/// A `ds bench` run or compare that selects an engine case: ds replaces itself with ds-engine on
/// the same command line; in ds-engine it is never reached (it throws).
[[noreturn]] void hand_bench_to_engine(const GlobalOptions& global);

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
