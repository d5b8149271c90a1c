#pragma once
// The SQL of `ds bench`'s tables (issue 10). The code that reads and writes them is bench/'s
// (bench/bench_store.hpp); the schema lives here with every other table so that the migrations
// list in profiles/ does not depend on bench/.

namespace ds::profiles {

/// Schema step 5 "bench": bench_runs (one `ds bench run`: when, what ds, which machine),
/// bench_results (one case of a run: median, spread, number of samples and every sample) and
/// bench_baselines (a name given to a run with --save-baseline; one name may cover runs on
/// several machines).
const char* bench_tables_sql();

}  // namespace ds::profiles
