#pragma once
#include <stdexcept>
#include <string>

namespace ds {

/// Process exit codes shared by every subcommand (README documents them).
enum class ExitCode : int { kOk = 0, kRuntime = 1, kUsage = 2, kRegression = 3 };

/// The one error type of ds. Library code throws it (or a subclass); only cli/main.cpp and the
/// HTTP handler wrapper catch it. The message follows STYLE.md:
/// `<where>: <what was wrong> (got X); expected Y[; hint: fix]`.
class Error : public std::runtime_error {
 public:
  Error(std::string message, ExitCode code) : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const { return code_; }
  int exit_code() const { return static_cast<int>(code_); }

 private:
  ExitCode code_;
};

/// Bad configuration file or value (exit 2).
class ConfigError : public Error {
 public:
  explicit ConfigError(std::string message) : Error(std::move(message), ExitCode::kUsage) {}
};

/// Bad command-line usage, or a feature asked for that this build does not have (exit 2).
class UsageError : public Error {
 public:
  explicit UsageError(std::string message) : Error(std::move(message), ExitCode::kUsage) {}
};

/// Something failed while running: I/O, a dead rank, a database error (exit 1).
class RuntimeError : public Error {
 public:
  explicit RuntimeError(std::string message) : Error(std::move(message), ExitCode::kRuntime) {}
};

/// A bad HTTP request; carries the HTTP status and the offending field (the server maps it).
class RequestError : public Error {
 public:
  RequestError(std::string message, int http_status, std::string param = {})
      : Error(std::move(message), ExitCode::kUsage), http_status_(http_status), param_(std::move(param)) {}
  int http_status() const { return http_status_; }
  const std::string& param() const { return param_; }

 private:
  int http_status_;
  std::string param_;
};

/// Builds the house error wording: "<where>: <what> (got <got>); expected <expected>; hint: <hint>".
/// Empty parts are left out.
std::string format_error(const std::string& where, const std::string& what, const std::string& got = {},
                         const std::string& expected = {}, const std::string& hint = {});

}  // namespace ds
