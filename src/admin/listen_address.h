// src/admin/listen_address.h (private): the admin server's `listen` and `access_control_list`
// options, parsed and checked. Not installed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::admin::detail {

// The parsed `listen` option.
struct ListenAddress {
  std::string host;   // numeric address to bind: "127.0.0.1", "0.0.0.0", "::1", ...
  uint16_t port = 0;  // 0: any free port
  bool ipv6 = false;
  std::string url_host;   // host part of Server::url(): "127.0.0.1", "[::1]"
  bool loopback = false;  // binds a loopback address only (not exposed)
};

// Parses "host:port", ":port", "port", "[v6]:port"; "localhost" is 127.0.0.1. Throws
// vigil::Error naming the option and what is wrong.
ListenAddress parse_listen(const std::string& listen);

// One "[+|-]address[/bits]" entry of an access control list.
struct AclEntry {
  bool allow = false;
  bool ipv6 = false;
  std::array<unsigned char, 16> address{};  // network order; 4 bytes used for IPv4
  int bits = 32;
};

// A checked access control list: comma-separated "[+|-]IPv4[/bits]" entries (and "-::/0" or
// "+::/0" for IPv6 clients), the last match wins. Empty allows everyone.
class AccessControlList {
 public:
  AccessControlList() = default;
  // Throws vigil::Error naming the bad entry.
  explicit AccessControlList(const std::string& text);
  // Whether a client with this numeric address may connect. Never throws.
  bool allows(std::string_view address) const noexcept;
  bool empty() const noexcept { return entries_.empty(); }

 private:
  std::vector<AclEntry> entries_;
};

}  // namespace vigil::admin::detail
