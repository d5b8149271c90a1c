#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace ds::cli {

void register_tokenize(CLI::App& app, GlobalOptions&) {
  register_pending(app, "tokenize", "Tokenize text with a tokenizer.json", "print token ids");
}

}  // namespace ds::cli
