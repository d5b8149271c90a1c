#pragma once
// Tells whether the client of a request has hung up. cpp-httplib 0.11 gives a handler no view of
// its connection, so the socket is found among the process's descriptors by the connection's
// ports and the peer's address (Linux /proc/self/fd): two clients on different hosts may share a
// source port. Used to cancel non-streaming requests whose client left;
// streams learn it from failed writes instead.
#include <string>

namespace ds::engine::serve {

class PeerWatch {
 public:
  /// The TCP socket whose local port is `local_port` and whose peer is `remote_addr` (numeric
  /// IPv4 or IPv6, as httplib's Request::remote_addr; an IPv4-mapped IPv6 peer matches its IPv4
  /// address) at `remote_port`; when none is found, closed() always says false.
  static PeerWatch find(int local_port, const std::string& remote_addr, int remote_port);
  /// True once the peer closed or reset the connection. Does not consume data.
  bool closed() const;
  bool found() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace ds::engine::serve
