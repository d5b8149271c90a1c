// The light `ds`'s stand-ins for everything that needs LibTorch: each replaces this process with
// ds-engine (installed next to ds) on the unchanged command line, so exit code, stdout and stderr
// are the engine's own, while `ds estimate` & co never pay LibTorch's ~1 s load.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/cli_context.hpp"
#include "common/error.hpp"
#include "profiles/profile_store.hpp"

namespace ds::cli {
namespace {

struct EngineCommand {
  const char* name;
  const char* description;  ///< exactly as ds-engine registers it, so both --help pages agree;
                            ///< null: the light ds runs this one itself
};

// In cli/engine_commands.cpp's order; tests/cli/engine_forward_test.cpp checks that `ds --help`
// and `ds-engine --help` list the same commands with the same descriptions.
constexpr EngineCommand kEngineCommands[] = {
    {"train", "Train a model with ZeRO, offload and mixed precision (DeepSpeed configs)"},
    {"eval", "Mean cross-entropy and perplexity of a model on a token file"},
    {"data", "Prepare token files from text or JSONL"},
    {"checkpoint", "List checkpoints and export them to Hugging Face safetensors"},
    {"generate", "Generate text from a checkpoint or a Hugging Face model, streamed to the terminal"},
    {"serve", "OpenAI-compatible HTTP server with continuous batching"},
    {"tokenize", nullptr},  // torch-free: registered for real (cli/tokenize.cpp), not handed over
    {"bench", nullptr},     // registered for real (cli/bench.cpp); hands runs of engine cases over
    {"env", "Report the build, LibTorch, CUDA, BLAS, SIMD, io_uring and database, with fixes for what is slow"},
};

[[noreturn]] void exec_engine(const GlobalOptions& global, const std::string& command) {
  std::error_code ec;
  // /proc/self/exe is the real file even when ds was reached through a symlink on PATH.
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    throw RuntimeError(format_error("/proc/self/exe", "cannot tell where ds is installed, so not where ds-engine is",
                                    ec.message(), "", "run ds-engine directly with the same arguments"));
  }
  const std::string engine = (self.parent_path() / "ds-engine").string();
  std::fflush(nullptr);
  ::execv(engine.c_str(), global.argv);
  const int error = errno;  // execv only returns on failure
  throw RuntimeError(format_error(engine, "cannot start the engine that `ds " + command + "` runs in",
                                  std::strerror(error), "the ds-engine executable in the same directory as ds",
                                  "build it with `./scripts/build ds-engine` (a plain ./scripts/build builds both), "
                                  "or copy it next to ds"));
}

}  // namespace

void register_engine_commands(CLI::App& app, GlobalOptions& global) {
  for (const auto& command : kEngineCommands) {
    if (command.description == nullptr) {  // keeps ds-engine's order in --help
      if (std::string(command.name) == "tokenize") register_tokenize(app, global);
      if (std::string(command.name) == "bench") register_bench(app, global);
      continue;
    }
    auto* sub = app.add_subcommand(command.name, command.description);
    // Everything after the name is ds-engine's to parse, --help included: `ds train --help`
    // then shows the real flags, and a bad flag gets the engine's own message.
    sub->set_help_flag();
    sub->prefix_command();
    sub->allow_extras();
    sub->fallthrough(false);
    sub->callback([&global, name = std::string(command.name)] { exec_engine(global, name); });
  }
}

profiles::Profile measure_this_machine(const profiles::ProbeOptions&, const GlobalOptions& global) {
  exec_engine(global, "profile");
}

void run_collectives_worker(const profiles::CollectiveBenchOptions&, const GlobalOptions& global) {
  exec_engine(global, "profile collectives-worker");
}

bool add_engine_bench_cases(bench::Registry&) { return false; }

void hand_bench_to_engine(const GlobalOptions& global) { exec_engine(global, "bench"); }

}  // namespace ds::cli
