#include "statsd_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vigil::exporters::statsd {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL;

}  // namespace

Socket::Result Socket::fail(const char* reason, std::string message, bool close_socket) {
  reason_ = reason;
  error_ = std::move(message);
  if (close_socket) close();
  return Result::kDropped;
}

void Socket::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Socket::open() {
  if (fd_ >= 0) return true;
  if (open_tried_) return false;  // error_ still says why
  open_tried_ = true;
  if (address_.transport == StatsdTransport::kUdp) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(address_.port);
    const int rc = ::getaddrinfo(address_.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      fail("connection", "cannot resolve '" + address_.host + "': " + ::gai_strerror(rc), false);
      return false;
    }
    int last = 0;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        last = errno;
        continue;
      }
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd_ = fd;
        break;
      }
      last = errno;
      ::close(fd);
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) {
      fail("connection", "udp " + address_.host + ":" + port + ": " + errno_text(last), false);
      return false;
    }
    return true;
  }
  const bool stream = address_.transport == StatsdTransport::kUnixStream;
  const int fd =
      ::socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail("connection", "socket: " + errno_text(errno), false);
    return false;
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address_.path.data(),
              std::min(address_.path.size(), sizeof(sa.sun_path) - 1));
  // A Unix socket connects at once or fails (EAGAIN: the listener's backlog is full).
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    ::close(fd);
    fail("connection",
         std::string(stream ? "unixstream " : "unix ") + address_.path + ": " + errno_text(err),
         false);
    return false;
  }
  fd_ = fd;
  return true;
}

Socket::Result Socket::send(std::string_view packet, std::chrono::steady_clock::time_point deadline,
                            const std::atomic<bool>& abort) {
  last_bytes_ = 0;
  if (abort.load(std::memory_order_relaxed)) return fail("shutdown", "aborted", false);
  if (!open()) return Result::kDropped;
  if (address_.transport != StatsdTransport::kUnixStream) {
    for (;;) {
      const ssize_t n = ::send(fd_, packet.data(), packet.size(), kSendFlags);
      if (n >= 0) {
        last_bytes_ = static_cast<std::size_t>(n);
        return Result::kSent;
      }
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
        return fail("io", "socket buffer full (" + errno_text(err) + "): packet dropped", false);
      }
      // UDP: ECONNREFUSED reports an ICMP port unreachable for an earlier datagram; the socket
      // stays usable. A Unix datagram socket whose peer went away is reopened next export.
      const bool unix_socket = address_.transport == StatsdTransport::kUnixDatagram;
      const bool refused = err == ECONNREFUSED || err == ENOTCONN || err == ENOENT;
      return fail(refused ? "connection" : "io", "send: " + errno_text(err),
                  unix_socket || !refused);
    }
  }
  // Stream: 4-byte little-endian length, then the packet; a frame is written whole or the
  // socket is closed (a cut frame would corrupt the stream).
  const auto len = static_cast<uint32_t>(packet.size());
  frame_.clear();
  for (int i = 0; i < 4; ++i) frame_ += static_cast<char>((len >> (8 * i)) & 0xff);
  frame_ += packet;
  std::size_t off = 0;
  while (off < frame_.size()) {
    const ssize_t n = ::send(fd_, frame_.data() + off, frame_.size() - off, kSendFlags);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    const int err = n < 0 ? errno : EPIPE;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) {
      return fail("connection", "unixstream send: " + errno_text(err), true);
    }
    const auto now = std::chrono::steady_clock::now();
    if (abort.load(std::memory_order_relaxed) || now >= deadline) {
      return fail(abort.load() ? "shutdown" : "io",
                  off == 0 ? "stream socket full until the deadline: packet dropped"
                           : "stream socket full until the deadline: frame cut, socket closed",
                  off != 0);
    }
    const auto wait = std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                    std::chrono::milliseconds(50));
    pollfd pfd{fd_, POLLOUT, 0};
    const int ms = static_cast<int>(
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()));
    ::poll(&pfd, 1, ms);
  }
  last_bytes_ = frame_.size();
  return Result::kSent;
}

}  // namespace vigil::exporters::statsd
