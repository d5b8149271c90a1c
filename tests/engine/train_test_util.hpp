// Helpers shared by the trainer/checkpoint tests: run a Python reference script, make a scratch dir.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

namespace ds::test {

/// Exit code by which a reference script says "a Python dependency is missing" (skip, not fail).
inline constexpr int kPythonSkip = 77;

struct PythonResult {
  int exit_code = -1;
  std::string out;  ///< stdout
};

/// Runs /usr/bin/python3 on tests/engine/reference/<script> with `args` (already shell-quoted).
/// nullopt when there is no /usr/bin/python3.
inline std::optional<PythonResult> run_reference(const std::string& script, const std::string& args = {}) {
  if (::access("/usr/bin/python3", X_OK) != 0) return std::nullopt;
  std::string cmd = "/usr/bin/python3 '" + std::string(DS_SOURCE_DIR) + "/tests/engine/reference/" + script +
                    "' " + args;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  PythonResult result;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// A fresh directory under the test temp dir, removed when the object dies.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    std::random_device rd;
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("ds-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace ds::test

/// Runs a reference script or skips the test when Python (or its torch) is not there.
#define DS_RUN_REFERENCE_OR_SKIP(var, script, args)                                             \
  auto var##_opt = ::ds::test::run_reference(script, args);                                     \
  if (!var##_opt) GTEST_SKIP() << "no /usr/bin/python3 for the reference " << script;           \
  if (var##_opt->exit_code == ::ds::test::kPythonSkip) GTEST_SKIP() << script << ": " << var##_opt->out; \
  ASSERT_EQ(var##_opt->exit_code, 0) << script << " failed:\n" << var##_opt->out;               \
  const std::string& var = var##_opt->out
