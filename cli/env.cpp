// `ds env`: report the build, LibTorch, CUDA, BLAS, SIMD, io_uring and the database.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli_context.hpp"
#include "common/table.hpp"
#include "engine/env_report.hpp"

namespace ds::cli {
namespace {

// ANSI bold yellow for warnings, only when stdout is a terminal and NO_COLOR is unset (no-color.org).
struct Colors {
  const char* warn = "";
  const char* reset = "";
};

Colors colors() {
  if (!::isatty(STDOUT_FILENO) || std::getenv("NO_COLOR") != nullptr) return {};
  return {"\033[1;33m", "\033[0m"};
}

std::string render(const engine::EnvReport& report) {
  const Colors c = colors();
  std::string out;
  int warning = 0;
  for (const auto& section : report.sections) {
    Table table({section.title, "", ""});
    for (const auto& r : section.rows) {
      std::string note = r.note;
      if (r.status == engine::EnvStatus::kWarn) note = "WARNING " + std::to_string(++warning) + " (see below)";
      else if (r.status == engine::EnvStatus::kMissing) note = note.empty() ? "--" : "-- " + note;
      table.add_row({r.name, r.value, note});
    }
    out += table.render() + "\n";
  }
  const auto warnings = report.warnings();
  if (warnings.empty()) return out + "No warnings.\n";
  out += c.warn + std::to_string(warnings.size()) + " WARNING(S):" + c.reset + "\n";
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    out += c.warn + std::string("  ") + std::to_string(i + 1) + ". " + warnings[i] + c.reset + "\n";
  }
  return out;
}

}  // namespace

void register_env(CLI::App& app, GlobalOptions& global) {
  auto* sub = app.add_subcommand(
      "env", "Report the build, LibTorch, CUDA, BLAS, SIMD, io_uring and database, with fixes for what is slow");
  sub->callback([&global] {
    engine::EnvOptions options;
    options.db_path = global.db_path;
    const auto report = engine::env_report(options);
    std::string text = global.json ? engine::to_json(report).dump(2) + "\n" : render(report);
    if (!global.json && global.verbose > 0) text += "\nLibTorch build configuration:\n" + report.torch_build_config;
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace ds::cli
