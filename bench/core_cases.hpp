#pragma once
// The cases every `ds` has: the estimate, core (config parsing, tokenizer) and tune suites, all
// torch-free; and the names of the engine's cases, so the light ds can list them.

namespace ds::bench {

class Registry;

/// estimate/*, core/* and tune/*: torch-free cases with fixed inputs.
void register_core_cases(Registry& registry);

/// kernels/*, train/*, serve/*: name, kind and description only (no prepare); ds-engine replaces
/// them with the real cases (cli/bench_engine_cases.cpp). A light ds hands a run selecting one to
/// ds-engine.
void register_engine_case_names(Registry& registry);

}  // namespace ds::bench
