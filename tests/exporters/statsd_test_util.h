// tests/exporters/statsd_test_util.h: local receivers for StatsD tests (UDP, Unix datagram, Unix
// stream with the 4-byte little-endian length prefix) and snapshot builders. 127.0.0.1 only;
// every wait bounded.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vigil/exporters/metric_exporter.h"

namespace vigil::exporters::testing {

inline bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

// A bound datagram socket (UDP on 127.0.0.1, or Unix at a path).
class DatagramReceiver {
 public:
  // UDP on 127.0.0.1, an ephemeral port.
  DatagramReceiver() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    int size = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  // Unix datagram at `path`.
  explicit DatagramReceiver(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    ::unlink(path.c_str());
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~DatagramReceiver() {
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  DatagramReceiver(const DatagramReceiver&) = delete;
  DatagramReceiver& operator=(const DatagramReceiver&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // The next datagram, or nullopt after `timeout_ms`.
  std::optional<std::string> receive(int timeout_ms = 2000) {
    if (!wait_readable(fd_, timeout_ms)) return std::nullopt;
    std::string buf(70000, '\0');
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
  // Every datagram until none arrives for `quiet_ms`.
  std::vector<std::string> receive_all(int quiet_ms = 200) {
    std::vector<std::string> out;
    while (auto d = receive(quiet_ms)) out.push_back(std::move(*d));
    return out;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string path_;
};

// A Unix stream listener; reads length-prefixed frames from the one connection it accepts.
class StreamReceiver {
 public:
  explicit StreamReceiver(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    ::unlink(path.c_str());
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 4);
  }
  ~StreamReceiver() {
    if (conn_ >= 0) ::close(conn_);
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  StreamReceiver(const StreamReceiver&) = delete;
  StreamReceiver& operator=(const StreamReceiver&) = delete;

  // Raw bytes received until none arrive for `quiet_ms`.
  std::string read_bytes(int quiet_ms = 200) {
    if (conn_ < 0) {
      if (!wait_readable(fd_, 2000)) return {};
      conn_ = ::accept(fd_, nullptr, nullptr);
    }
    std::string out;
    char buf[65536];
    while (wait_readable(conn_, quiet_ms)) {
      const ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // Splits length-prefixed frames; false when the bytes are not a whole number of frames.
  static bool frames(const std::string& bytes, std::vector<std::string>& out) {
    std::size_t at = 0;
    while (at < bytes.size()) {
      if (bytes.size() - at < 4) return false;
      uint32_t len = 0;
      for (int i = 0; i < 4; ++i) {
        len |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
      }
      at += 4;
      if (bytes.size() - at < len) return false;
      out.push_back(bytes.substr(at, len));
      at += len;
    }
    return true;
  }
  // Accepts without reading (a receiver that is stuck).
  void accept_only() {
    if (conn_ < 0 && wait_readable(fd_, 2000)) conn_ = ::accept(fd_, nullptr, nullptr);
  }

 private:
  int fd_ = -1;
  int conn_ = -1;
  std::string path_;
};

// A fresh directory for socket paths (short enough for sockaddr_un).
inline std::string temp_dir() {
  char tmpl[] = "/tmp/vigil-statsd-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  return d != nullptr ? std::string(d) : std::string("/tmp");
}

// Snapshot builders.
inline MetricFamily family(std::string name, metrics::MetricType type,
                           std::vector<std::string> label_names = {}) {
  MetricFamily f;
  f.name = std::move(name);
  f.type = type;
  f.label_names = std::move(label_names);
  return f;
}

inline MetricPoint point(double value, std::vector<std::string> labels = {}) {
  MetricPoint p;
  p.value = value;
  p.label_values = std::move(labels);
  return p;
}

inline std::vector<std::string> split_lines(const std::string& packet) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= packet.size()) {
    std::size_t nl = packet.find('\n', at);
    if (nl == std::string::npos) nl = packet.size();
    out.push_back(packet.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

inline ExportDeadline in_ms(int ms) { return ExportClock::now() + std::chrono::milliseconds(ms); }

}  // namespace vigil::exporters::testing
