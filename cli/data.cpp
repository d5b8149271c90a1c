#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_data(CLI::App& app, GlobalOptions&) {
  register_pending(app, "data", "Prepare token files from text or JSONL", "tokenize text into token files");
}

}  // namespace ds::cli
