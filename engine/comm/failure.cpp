// Turns a failed c10d collective into one clear ds::RuntimeError: which collective, which rank,
// timeout or lost connection, and which peers stopped responding (from the heartbeat).
#include <cstdio>

#include "common/error.hpp"
#include "engine/comm/detail/c10d.hpp"

namespace ds::comm {
namespace {

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

std::string seconds_text(std::chrono::milliseconds ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buffer;
}

/// Who is to blame, as far as the heartbeat can tell: {"rank 3", "no heartbeat for 2.5 s: ..."}.
std::pair<std::string, std::string> blame(detail::Heartbeat* heartbeat, const CommOptions& options) {
  if (!heartbeat) return {};
  try {
    std::vector<int> silent = heartbeat->silent_ranks();
    if (silent.empty()) {
      return {{}, "every rank still sends heartbeats: one is stuck outside this collective, or the ranks called different collectives"};
    }
    return {detail::list_ranks(silent),
            "no heartbeat for " + seconds_text(options.heartbeat_interval * 5 / 2) + ": the process died or hung"};
  } catch (const std::exception&) {
    return {"rank 0", "its store at " + options.env.master_addr + ":" + std::to_string(options.env.master_port) +
                          " is unreachable: the process died or hung"};
  }
}

}  // namespace

void Communicator::Impl::fail(const char* op, const std::exception& error) {
  const std::string raw = detail::backend_message(error);
  const DistEnv& env = options.env;
  const std::string where = std::string("collective ") + op + " (call #" + std::to_string(calls.load()) + ") on rank " +
                            std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  const bool timed_out = contains(raw, "imed out") || contains(raw, "timeout");
  const bool lost = contains(raw, "onnection") || contains(raw, "Read error") || contains(raw, "Write error") ||
                    contains(raw, "Broken pipe");
  if (!timed_out && !lost) {  // the backend refused the operation itself: no peer to blame
    throw RuntimeError(format_error(where, "failed [" + backend_name + ": " + raw + "]"));
  }
  auto [peers, detail] = blame(heartbeat.get(), options);
  std::string what = timed_out ? "timed out after " + std::to_string(options.timeout.count()) + " s waiting for "
                               : std::string("lost the connection to ");
  what += peers.empty() ? "a peer" : peers;
  if (!detail.empty()) what += " (" + detail + ")";
  what += " [" + backend_name + ": " + raw + "]";
  const std::string hint = "a peer died or hung; check " + (peers.empty() ? std::string("the other ranks' logs") : peers + "'s log");
  throw RuntimeError(format_error(where, what, {}, {}, hint));
}

}  // namespace ds::comm
