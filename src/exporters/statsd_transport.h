// src/exporters/statsd_transport.h (internal): the non-blocking socket a StatsD exporter sends
// its packets through: UDP, Unix datagram, or Unix stream with a 4-byte little-endian length
// before every packet. Not thread-safe (the exporter serialises sends).
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "vigil/exporters/statsd_exporter.h"

namespace vigil::exporters::statsd {

class Socket {
 public:
  enum class Result { kSent, kDropped };
  explicit Socket(StatsdAddress address) : address_(std::move(address)) {}
  ~Socket() { close(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // A new export: an open that failed earlier may be tried again (once per export).
  void begin() noexcept { open_tried_ = false; }
  // Sends one packet: a datagram, or a frame on the stream. Never waits past `deadline`
  // (datagrams never wait at all) nor after `abort` is set. kDropped: error() says why.
  Result send(std::string_view packet, std::chrono::steady_clock::time_point deadline,
              const std::atomic<bool>& abort);
  void close() noexcept;
  // Bytes the last kSent put on the wire (the stream's prefix included).
  std::size_t last_bytes() const noexcept { return last_bytes_; }
  const std::string& error() const noexcept { return error_; }
  // "connection" (no socket, refused) or "io" (full, timed out, other errors).
  const char* reason() const noexcept { return reason_; }

 private:
  bool open();
  Result fail(const char* reason, std::string message, bool close_socket);

  StatsdAddress address_;
  int fd_ = -1;
  bool open_tried_ = false;
  std::size_t last_bytes_ = 0;
  std::string error_;
  const char* reason_ = "io";
  std::string frame_;
};

}  // namespace vigil::exporters::statsd
