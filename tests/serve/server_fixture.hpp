// A server on a free loopback port with the FakeGenerator behind it, and helpers to talk to it
// with cpp-httplib's client and to split an SSE body into its events.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/serve/http_server.hpp"
#include "tests/serve/fake_generator.hpp"

namespace ds::engine::serve::test {

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.port = 0;
    server = std::make_unique<HttpServer>(generator, fake_model(), options);
    server->start();
    ASSERT_GT(server->port(), 0);
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(10, 0);
    return c;
  }

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {}) const {
    return client().Post(path.c_str(), headers, body, "application/json");
  }

  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) const {
    return client().Get(path.c_str(), headers);
  }

  FakeGenerator generator;  // declared first: outlives the server's requests
  std::unique_ptr<HttpServer> server;
};

/// The data of each "data: ...\n\n" event; fails the test on anything else in the body.
inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> events;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t end = body.find("\n\n", pos);
    if (end == std::string::npos || body.compare(pos, 6, "data: ") != 0) {
      ADD_FAILURE() << "not an SSE event at byte " << pos << ": " << body.substr(pos);
      break;
    }
    events.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end + 2;
  }
  return events;
}

inline nlohmann::json parse(const std::string& text) { return nlohmann::json::parse(text); }

}  // namespace ds::engine::serve::test
