// ds-engine's half of `ds bench`: the cases that need LibTorch replace the names that
// bench/core_cases.cpp registers for the light ds.
#include "bench/bench_case.hpp"
#include "cli/cli_context.hpp"
#include "common/error.hpp"

namespace ds::cli {

bool add_engine_bench_cases(bench::Registry&) { return true; }

void hand_bench_to_engine(const GlobalOptions&) {
  throw RuntimeError(format_error("ds bench", "an engine case without its LibTorch implementation", "",
                                  "every name in bench/core_cases.cpp's register_engine_case_names to be "
                                  "registered by cli/bench_engine_cases.cpp"));
}

}  // namespace ds::cli
