#pragma once
// The SQL of `ds tune`'s tables (issue 8). The code that reads and writes them is autotune/'s
// (autotune/tune_history.hpp, autotune/calibration.hpp); the schema lives here with every other
// table so that the migrations list in profiles/ does not depend on autotune/.

namespace ds::profiles {

/// Schema step 4 "tune": tune_runs (one `ds tune`: model, cluster, options, counts, pruning by
/// reason, the chosen rank and the config written), tune_candidates (the ranked plans of a run
/// with their cost terms and memory) and tune_calibrations (cost-model coefficients fitted from
/// trials on one machine, with the error before and after).
const char* tune_tables_sql();

}  // namespace ds::profiles
