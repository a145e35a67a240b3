// tests/exporters/otlp_receiver.h: runs receiver/receiver.js (the official OpenTelemetry JS
// decoder, see there) as a child process for the OTLP interop tests. VIGIL_NODE and
// VIGIL_OTLP_RECEIVER (set by otlp_interop_test.sh) name node and the script; without them the
// receiver does not start and REQUIRE_RECEIVER skips the test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace vigil::exporters::testing {

// One receiver process; killed (SIGTERM, then SIGKILL) by the destructor.
class Receiver {
 public:
  explicit Receiver(const std::string& plan = "[]") {
    const char* node = std::getenv("VIGIL_NODE");
    const char* script = std::getenv("VIGIL_OTLP_RECEIVER");
    if (node == nullptr || script == nullptr) return;
    char tmpl[] = "/tmp/vigil-otlp-interop.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    port_file_ = dir_ + "/port";
    out_file_ = dir_ + "/received.jsonl";
    std::vector<std::string> args = {node,      script,   "--port-file", port_file_,      "--out",
                                     out_file_, "--plan", plan,          "--max-seconds", "120"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, node, nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
      return;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < until) {
      std::ifstream in(port_file_);
      int port = 0;
      if (in >> port && port > 0) {
        port_ = port;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~Receiver() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }
  bool running() const { return port_ > 0; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string endpoint() const { return base_url() + "/v1/traces"; }
  std::vector<nlohmann::json> records() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(out_file_);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_, port_file_, out_file_;
};

#define REQUIRE_RECEIVER(r)                                                            \
  do {                                                                                 \
    if (std::getenv("VIGIL_NODE") == nullptr) GTEST_SKIP() << "VIGIL_NODE is not set"; \
    ASSERT_TRUE((r).running()) << "the Node.js receiver did not start";                \
  } while (0)

}  // namespace vigil::exporters::testing
