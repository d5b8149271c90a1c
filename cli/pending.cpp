#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"
#include "common/error.hpp"

namespace ds::cli {

void register_pending(CLI::App& app, const std::string& name, const std::string& description,
                      const std::string& what_it_will_do) {
  auto* sub = app.add_subcommand(name, description + " [not in this build yet]");
  sub->allow_extras();
  sub->fallthrough(false);  // keep its flags: the parent would reject them before the callback runs
  sub->callback([name, what_it_will_do] {
    throw UsageError(format_error("ds " + name, "this subcommand is not part of this build yet", "", "",
                                  "it will " + what_it_will_do + "; see the README for what works today"));
  });
}

}  // namespace ds::cli
