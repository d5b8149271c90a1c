#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ds::launch {

/// Which output stream of a child a line came from.
enum class Stream { kStdout, kStderr };

/// One process to start and watch.
struct ProcessSpec {
  std::string label;               ///< names it in output prefixes and errors: "rank 3", "node worker-1"
  std::vector<std::string> argv;   ///< argv[0] is searched in PATH when it contains no '/'
  std::vector<std::pair<std::string, std::string>> env;  ///< set on top of this process's environment
};

/// Receives each complete output line (no trailing '\n') of processes[index].
using LineSink = std::function<void(std::size_t index, Stream stream, const std::string& line)>;

/// A sink that writes "[label] line" to this process's stdout or stderr, whole lines at a time.
LineSink console_line_sink(std::vector<std::string> labels);

struct SuperviseOptions {
  std::chrono::milliseconds grace_period{5000};  ///< between SIGTERM and SIGKILL when stopping the others
  std::size_t tail_lines = 20;                   ///< last lines per process quoted in a failure
  LineSink on_line;                              ///< default: console_line_sink(labels)
  std::string where = "launch";                  ///< first word of error messages
};

/// Starts every process (fork/exec, each in its own process group with stdin from /dev/null and
/// PR_SET_PDEATHSIG=SIGTERM so none outlives this one; stopping signals go to the whole group),
/// forwards their stdout/stderr line by line through `on_line` (poll over pipes; a line is
/// never split or interleaved), and waits. Returns when all have exited with status 0.
///
/// When one exits non-zero or is killed by a signal, the others get SIGTERM, then SIGKILL after
/// the grace period, and a ds::RuntimeError names that first failure: its label, exit status
/// or signal, and its last `tail_lines` lines. SIGINT/SIGTERM sent to this process while it
/// waits stop the children the same way. A program that cannot be executed exits with 127.
void supervise(const std::vector<ProcessSpec>& processes, const SuperviseOptions& options = {});

/// How launchers start their processes; tests inject one that records the specs.
using ProcessRunner = std::function<void(const std::vector<ProcessSpec>&, const SuperviseOptions&)>;

}  // namespace ds::launch
