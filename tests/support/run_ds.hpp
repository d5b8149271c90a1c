// Runs the built `ds` binary (or another program) in end-to-end tests: exit status, stdout and
// stderr kept apart so JSON on stdout parses even when a log line goes to stderr.
// Header-only and torch-free so every suite (and benchmark) can include it.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ds::test {

/// What one run of a program left behind.
struct DsRun {
  int code = -1;     ///< exit status; -1 when it died of a signal or could not be started
  std::string out;   ///< stdout
  std::string err;   ///< stderr
  /// stdout then stderr, for checks that do not care which stream a message went to.
  std::string output() const { return out + err; }
};

/// Runs `binary args` through /bin/sh. `args` is pasted as is (quote paths yourself); `env` is
/// shell assignments put before the command, e.g. "DS_HOME='/tmp/x'".
inline DsRun run_program(const std::string& binary, const std::string& args, const std::string& env = "") {
  DsRun r;
  // mkstemp: tests of several suites run in parallel under ctest, so the stderr file is unique.
  std::string err_path = (std::filesystem::temp_directory_path() / "ds_run_stderr_XXXXXX").string();
  const int fd = ::mkstemp(err_path.data());
  if (fd < 0) return r;
  ::close(fd);
  const std::string command = env + " '" + binary + "' " + args + " 2>'" + err_path + "'";
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) r.out.append(buf, n);
    const int status = ::pclose(pipe);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  std::error_code ec;
  std::filesystem::remove(err_path, ec);
  return r;
}

/// Runs the `ds` this build made (DS_BINARY, defined for every test suite by tests/CMakeLists.txt).
inline DsRun run_ds(const std::string& args, const std::string& env = "") {
  return run_program(DS_BINARY, args, env);
}

}  // namespace ds::test
