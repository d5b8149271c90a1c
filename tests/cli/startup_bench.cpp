// Whole-process wall time of a ds command (fork, exec, dynamic loading, run, exit): what a user
// waits for. The light ds and ds-engine run the same estimate side by side, so the pair shows
// what not loading LibTorch saves; the `data info` pair shows what handing a subcommand from ds
// to ds-engine costs. Numbers in docs/performance.md ("Start-up"), taken as medians with
//   ds_bench_cli --benchmark_repetitions=21 --benchmark_report_aggregates_only=true
// Target (issue 4): `ds estimate memory` well under 100 ms.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

extern char** environ;

namespace {

// README's example: the full stage x offload table for 8 A100s.
const std::vector<std::string> kEstimate = {"estimate", "memory",          "--model", "llama-2-7b", "--gpu",
                                            "a100-80g", "--gpus-per-node", "8",       "--seq",      "4096"};
const std::vector<std::string> kDataInfo = {"data", "info", "/nonexistent/train.bin"};

// Runs `binary args` with stdout and stderr on /dev/null; returns its exit status (-1: no start).
int run_quietly(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<std::string> words = {binary};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int started = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (started != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void BM_WholeProcess(benchmark::State& state, const std::string& binary, const std::vector<std::string>& args,
                     int expected_exit) {
  for (auto _ : state) {
    if (run_quietly(binary, args) != expected_exit) {
      state.SkipWithError((binary + " exited with an unexpected status").c_str());
      break;
    }
  }
}

// One run per repetition: --benchmark_repetitions=N gives the median of N whole processes.
BENCHMARK_CAPTURE(BM_WholeProcess, ds_estimate_memory_llama2_7b, DS_BINARY, kEstimate, 0)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_WholeProcess, ds_engine_estimate_memory_llama2_7b, DS_ENGINE_BINARY, kEstimate, 0)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_WholeProcess, ds_data_info_forwarded, DS_BINARY, kDataInfo, 2)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_WholeProcess, ds_engine_data_info, DS_ENGINE_BINARY, kDataInfo, 2)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace
