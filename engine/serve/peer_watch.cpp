#include "engine/serve/peer_watch.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace ds::engine::serve {
namespace {

int port_of(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return -1;
}

// Addresses compared as IPv6, IPv4 as ::ffff:a.b.c.d, so both spellings of an IPv4 client match.
in6_addr v4_mapped(const in_addr& v4) {
  in6_addr out{};
  out.s6_addr[10] = out.s6_addr[11] = 0xFF;
  std::memcpy(&out.s6_addr[12], &v4, 4);
  return out;
}

bool as_ipv6(const sockaddr_storage& addr, in6_addr& out) {
  if (addr.ss_family == AF_INET6) out = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
  else if (addr.ss_family == AF_INET) out = v4_mapped(reinterpret_cast<const sockaddr_in&>(addr).sin_addr);
  else return false;
  return true;
}

bool parse_address(const std::string& text, in6_addr& out) {
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out = v4_mapped(v4);
    return true;
  }
  return ::inet_pton(AF_INET6, text.c_str(), &out) == 1;
}

}  // namespace

PeerWatch PeerWatch::find(int local_port, const std::string& remote_addr, int remote_port) {
  PeerWatch watch;
  in6_addr wanted{};
  if (!parse_address(remote_addr, wanted)) return watch;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    const long fd = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0') continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_len = sizeof local;
    socklen_t peer_len = sizeof peer;
    // Not a socket, or a listening one (no peer): getsockname/getpeername fail and we move on.
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (port_of(local) != local_port) continue;
    if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    in6_addr peer_addr{};
    if (port_of(peer) != remote_port || !as_ipv6(peer, peer_addr)) continue;
    if (std::memcmp(&peer_addr, &wanted, sizeof wanted) != 0) continue;
    watch.fd_ = static_cast<int>(fd);
    break;
  }
  return watch;
}

bool PeerWatch::closed() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  // POLLRDHUP: the peer shut its side down; a client that is still there never does mid-request.
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace ds::engine::serve
