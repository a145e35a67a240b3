// tests/alerting/fake_alertmanager.h: an Alertmanager stand-in for AlertmanagerClient tests
// (vigil's admin server on 127.0.0.1, a free port) that records the POSTs to /api/v2/alerts and
// can hold them (a hung instance), and a port that refuses connections.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vigil/admin/server.h"

namespace vigil::alerting::testing {

using namespace std::chrono_literals;

struct Received {
  std::string path;
  std::string body;
  std::string content_type;
  std::string authorization;
};

// An Alertmanager stand-in: records every POST /api/v2/alerts and answers with `status`. When
// gated, a request waits (at most 20 s) until release(): a hung instance.
class FakeAlertmanager {
 public:
  explicit FakeAlertmanager(int status = 200, std::string body = "")
      : status_(status), body_(std::move(body)), server_({.listen = "127.0.0.1:0", .threads = 4}) {
    server_.handle("/api/v2/alerts",
                   [this](const admin::Request& req) {
                     {
                       std::lock_guard lock(mu_);
                       received_.push_back({std::string(req.path), std::string(req.body),
                                            std::string(req.header("Content-Type").value_or("")),
                                            std::string(req.header("Authorization").value_or(""))});
                       cv_.notify_all();
                     }
                     std::unique_lock lock(mu_);
                     cv_.wait_for(lock, 20s, [&] { return !gated_; });
                     return admin::Response{.status = status_, .body = body_};
                   },
                   {.methods = {"POST"}, .access = admin::Access::kPublic});
    server_.start();
  }
  ~FakeAlertmanager() {
    release();
    server_.stop();
  }

  std::string url() const { return server_.url(); }
  void gate() {
    std::lock_guard lock(mu_);
    gated_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    gated_ = false;
    cv_.notify_all();
  }
  // Waits (at most 10 s) until `n` requests arrived; false if they did not.
  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return received_.size() >= n; });
  }
  // Waits (at most 10 s) until `n` alerts arrived (in any number of requests).
  bool wait_for_alerts(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] {
      size_t count = 0;
      for (const Received& r : received_) count += nlohmann::json::parse(r.body).size();
      return count >= n;
    });
  }
  std::vector<Received> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  // Every alert received, in order, as parsed JSON.
  std::vector<nlohmann::json> alerts() const {
    std::vector<nlohmann::json> out;
    for (const Received& r : received()) {
      for (auto& a : nlohmann::json::parse(r.body)) out.push_back(a);
    }
    return out;
  }

 private:
  int status_;
  std::string body_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  bool gated_ = false;
  admin::Server server_;  // last: stopped first
};

// A port on 127.0.0.1 that refuses connections (bound, not listening).
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ADD_FAILURE();
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace vigil::alerting::testing
