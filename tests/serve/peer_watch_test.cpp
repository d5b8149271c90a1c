// PeerWatch on real loopback sockets: it finds the server side of a connection by its ports and the
// peer's address, and says closed only once the client hung up, without eating pending data.
#include "engine/serve/peer_watch.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace ds::engine::serve {
namespace {

int port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A listening socket, a client connected to it and the accepted server side, on 127.0.0.1.
struct Connection {
  int listener = -1, client = -1, server = -1;
  Connection() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    addr.sin_port = htons(static_cast<std::uint16_t>(port_of(listener)));
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    server = ::accept(listener, nullptr, nullptr);
    EXPECT_GE(server, 0);
  }
  ~Connection() {
    for (int fd : {listener, client, server}) {
      if (fd >= 0) ::close(fd);
    }
  }
  int server_port() const { return port_of(listener); }
  int client_port() const { return port_of(client); }
};

// Polls `closed()` until it says true or 10 s pass (the FIN travels through the kernel).
bool becomes_closed(const PeerWatch& watch) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (watch.closed()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(PeerWatch, FindsTheServerSideAndSeesTheClientHangUp) {
  Connection c;
  const PeerWatch watch = PeerWatch::find(c.server_port(), "127.0.0.1", c.client_port());
  ASSERT_TRUE(watch.found());
  EXPECT_FALSE(watch.closed());
  ::close(c.client);
  c.client = -1;
  EXPECT_TRUE(becomes_closed(watch));
}

TEST(PeerWatch, PendingDataIsNotAHangUpAndIsNotConsumed) {
  Connection c;
  const PeerWatch watch = PeerWatch::find(c.server_port(), "127.0.0.1", c.client_port());
  ASSERT_TRUE(watch.found());
  ASSERT_EQ(::send(c.client, "hi", 2, 0), 2);
  EXPECT_FALSE(watch.closed());
  char buffer[4] = {};
  ASSERT_EQ(::recv(c.server, buffer, sizeof buffer, 0), 2);
  EXPECT_EQ(std::string(buffer, 2), "hi");
}

TEST(PeerWatch, MatchesLocalAndPeerPortInThatOrder) {
  Connection c;
  // The listener has the server's port but no peer; the client's socket has the ports swapped.
  const PeerWatch wrong_peer = PeerWatch::find(c.server_port(), "127.0.0.1", c.server_port());
  EXPECT_FALSE(wrong_peer.found());
  EXPECT_FALSE(wrong_peer.closed());
  const PeerWatch client_side = PeerWatch::find(c.client_port(), "127.0.0.1", c.server_port());
  EXPECT_TRUE(client_side.found());  // the client's own end, looked up from its side
  EXPECT_FALSE(client_side.closed());
  // Another peer address, its IPv4-mapped IPv6 spelling, and something that is no address.
  EXPECT_FALSE(PeerWatch::find(c.server_port(), "127.0.0.2", c.client_port()).found());
  EXPECT_TRUE(PeerWatch::find(c.server_port(), "::ffff:127.0.0.1", c.client_port()).found());
  EXPECT_FALSE(PeerWatch::find(c.server_port(), "localhost", c.client_port()).found());
  // None found: closed() says false forever.
  EXPECT_FALSE(PeerWatch{}.found());
  EXPECT_FALSE(PeerWatch{}.closed());
}

// Two clients on different addresses may share a source port: one hanging up is not the other.
TEST(PeerWatch, AnotherClientWithTheSamePortHangingUpIsNotThisOne) {
  Connection a;  // client 127.0.0.1:P -> server 127.0.0.1:X
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7f000002);  // 127.0.0.2, same source port P
  source.sin_port = htons(static_cast<std::uint16_t>(a.client_port()));
  const int b_client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::bind(b_client, reinterpret_cast<sockaddr*>(&source), sizeof source), 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(static_cast<std::uint16_t>(a.server_port()));
  ASSERT_EQ(::connect(b_client, reinterpret_cast<sockaddr*>(&server), sizeof server), 0);
  const int b_server = ::accept(a.listener, nullptr, nullptr);
  ASSERT_GE(b_server, 0);
  ::close(a.client);  // client A leaves; client B is still there
  a.client = -1;
  pollfd hung_up{a.server, POLLRDHUP, 0};
  ASSERT_EQ(::poll(&hung_up, 1, 10000), 1);  // A's FIN has arrived
  // B's handler asks about B's ports: it must not see A's hang-up.
  const PeerWatch b = PeerWatch::find(a.server_port(), "127.0.0.2", ntohs(source.sin_port));
  ASSERT_TRUE(b.found());
  EXPECT_FALSE(b.closed());
  EXPECT_TRUE(PeerWatch::find(a.server_port(), "127.0.0.1", ntohs(source.sin_port)).closed());
  ::close(b_client);
  ::close(b_server);
}

}  // namespace
}  // namespace ds::engine::serve
