#include "common/log.hpp"

#include <cstdio>
#include <mutex>

namespace ds::log {
namespace {

std::mutex g_mutex;
Level g_level = Level::kInfo;
std::string g_tag;

void stderr_sink(Level level, const std::string& message) {
  const char* prefix = "";
  switch (level) {
    case Level::kError: prefix = "error: "; break;
    case Level::kWarn: prefix = "warning: "; break;
    case Level::kInfo: break;
    case Level::kDebug: prefix = "debug: "; break;
  }
  std::fprintf(stderr, "%s%s%s\n", g_tag.c_str(), prefix, message.c_str());
  std::fflush(stderr);
}

Sink g_sink = stderr_sink;

}  // namespace

void set_level(Level level) {
  std::lock_guard lock(g_mutex);
  g_level = level;
}

Level level() { return g_level; }

Sink set_sink(Sink sink) {
  std::lock_guard lock(g_mutex);
  Sink old = std::move(g_sink);
  g_sink = sink ? std::move(sink) : Sink(stderr_sink);
  return old;
}

void set_tag(std::string tag) {
  std::lock_guard lock(g_mutex);
  g_tag = std::move(tag);
}

void write(Level level, const std::string& message) {
  std::lock_guard lock(g_mutex);
  if (level > g_level) return;
  g_sink(level, message);
}

}  // namespace ds::log
