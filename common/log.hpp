#pragma once
#include <functional>
#include <sstream>
#include <string>

namespace ds::log {

enum class Level : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

/// Messages above this level are dropped. Default kInfo; `-q` sets kWarn, `-v` kDebug.
void set_level(Level level);
Level level();

/// Where messages go (default: stderr, prefixed with "ds: warning: " etc. and the rank tag if set).
/// Tests swap it to capture output. Returns the previous sink.
using Sink = std::function<void(Level, const std::string&)>;
Sink set_sink(Sink sink);

/// A prefix put before every line, e.g. "[rank 1] " in multi-rank runs.
void set_tag(std::string tag);

void write(Level level, const std::string& message);

template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <typename... Args>
void error(const Args&... args) { write(Level::kError, concat(args...)); }
template <typename... Args>
void warn(const Args&... args) { if (level() >= Level::kWarn) write(Level::kWarn, concat(args...)); }
template <typename... Args>
void info(const Args&... args) { if (level() >= Level::kInfo) write(Level::kInfo, concat(args...)); }
template <typename... Args>
void debug(const Args&... args) { if (level() >= Level::kDebug) write(Level::kDebug, concat(args...)); }

}  // namespace ds::log
