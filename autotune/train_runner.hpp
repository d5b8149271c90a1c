#pragma once
// The TrialRunner of `ds tune --measure`: writes the config into its own run directory and runs
// `ds train --json --config ...` as a child process (real ranks, the trial recorded by ds train).
#include <string>

#include "autotune/measure.hpp"

namespace ds::autotune {

struct TrainRunnerOptions {
  std::string ds_binary;   ///< the ds executable (the running one: /proc/self/exe)
  std::string db_path;     ///< --db handed to ds train, so its trial lands where the tuner reads
  std::string run_root;    ///< each run gets <run_root>/measure-<index>
  int nproc = 1;           ///< local ranks (--nproc)
  std::string device;      ///< --device for ds train; empty: its default
};

class TrainProcessRunner : public TrialRunner {
 public:
  explicit TrainProcessRunner(TrainRunnerOptions options) : options_(std::move(options)) {}
  MeasuredRun run(const configs::Config& config, const estimators::Plan& plan, int index) override;

 private:
  TrainRunnerOptions options_;
};

/// What a finished `ds train --json` printed and how it exited, as a MeasuredRun: exit 0 with
/// a summary is "ok"; otherwise "oom" when stderr mentions running out of memory, else "failed".
MeasuredRun parse_train_output(int exit_code, const std::string& out, const std::string& err);

}  // namespace ds::autotune
