// ds: size, profile, tune, train and serve large transformer models.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/cli_context.hpp"
#include "cli/internal_error.hpp"
#include "common/build_info.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/suggest.hpp"

namespace {

// CLI11 reports an unknown subcommand as a missing one or as extra arguments; name the word
// the user typed and the nearest subcommand instead.
std::string explain_parse_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--db") {  // the only global option that takes a value
      ++i;
      continue;
    }
    if (word.empty() || word[0] == '-') continue;
    if (std::find(names.begin(), names.end(), word) != names.end()) break;
    return ds::format_error("ds", "unknown subcommand '" + word + "'", "", "one of the commands in `ds --help`") +
           ds::did_you_mean(word, names);
  }
  return e.what();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ds: will it fit, what does this hardware do, which layout is fastest, run it, serve it", "ds"};
  app.require_subcommand(1);
  app.fallthrough();
  ds::cli::GlobalOptions global;
  global.argv = argv;
  const auto& info = ds::build_info();
  app.set_version_flag("--version", "ds " + info.version + " (" + info.git_commit + ")");
  app.add_option("--db", global.db_path, "SQLite database (default $DS_HOME/ds.db or ~/.cache/ds/ds.db)");
  app.add_flag("--json", global.json, "Machine-readable JSON on stdout");
  app.add_flag("-v,--verbose", global.verbose, "More log output (repeat for more)");
  app.add_flag("-q,--quiet", global.quiet, "Only warnings and errors");
  app.parse_complete_callback([&] {
    if (global.quiet) ds::log::set_level(ds::log::Level::kWarn);
    else if (global.verbose > 0) ds::log::set_level(ds::log::Level::kDebug);
  });

  using namespace ds::cli;
  register_estimate(app, global);
  register_profile(app, global);
  register_tune(app, global);
  register_config(app, global);
  register_engine_commands(app, global);  // the real ones in ds-engine, hand-overs to it in ds

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ds: error: %s\n", explain_parse_error(app, e, argc, argv).c_str());
    std::fprintf(stderr, "Run with --help for more information.\n");
    return static_cast<int>(ds::ExitCode::kUsage);
  } catch (const ds::Error& e) {
    std::fprintf(stderr, "ds: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    // Anything that is not a ds::Error is a bug in ds; LibTorch's C++ backtrace only with -v.
    std::fputs(ds::cli::internal_error_text(e.what(), global.verbose > 0).c_str(), stderr);
    return static_cast<int>(ds::ExitCode::kRuntime);
  }
  return 0;
}
