// tests/exporters/fake_collector.h: an in-process OTLP/HTTP collector on vigil's admin server
// (127.0.0.1, a free port) whose answers a test scripts, and a port that refuses connections.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "vigil/admin/server.h"

namespace vigil::exporters::testing {

using Clock = std::chrono::steady_clock;

struct Received {
  std::string body;
  std::string content_type;
  std::string content_encoding;
  std::string authorization;
  std::string user_agent;
  Clock::time_point at;
};

// A collector whose answer to the n-th request (0-based) `respond` decides.
class FakeCollector {
 public:
  using Responder = std::function<admin::Response(int n)>;

  explicit FakeCollector(Responder respond)
      : respond_(std::move(respond)), server_({.listen = "127.0.0.1:0", .threads = 4}) {
    server_.handle(
        "/v1/traces",
        [this](const admin::Request& req) {
          int n = 0;
          {
            std::lock_guard lock(mu_);
            n = static_cast<int>(received_.size());
            received_.push_back(Received{
                std::string(req.body), std::string(req.header("Content-Type").value_or("")),
                std::string(req.header("Content-Encoding").value_or("")),
                std::string(req.header("Authorization").value_or("")),
                std::string(req.header("User-Agent").value_or("")), Clock::now()});
          }
          return respond_(n);
        },
        {.methods = {"POST"}, .access = vigil::admin::Access::kPublic});
    server_.start();
  }

  std::string endpoint() const { return server_.url() + "/v1/traces"; }
  std::vector<Received> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return received_.size();
  }

 private:
  Responder respond_;
  mutable std::mutex mu_;
  std::vector<Received> received_;
  admin::Server server_;  // last: stopped first, while the rest is alive
};

// A port on 127.0.0.1 that refuses connections: bound, never listening, held open.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ADD_FAILURE();
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces";
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace vigil::exporters::testing
