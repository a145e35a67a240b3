#include "listen_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "vigil/core/error.h"

namespace vigil::admin::detail {

namespace {

constexpr std::string_view kPrefix = "admin server: ";

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

ListenAddress parse_listen(const std::string& listen) {
  auto bad = [&](std::string_view why) {
    return Error(std::string(kPrefix) + "invalid listen address \"" + listen +
                 "\": " + std::string(why));
  };
  if (listen.empty()) throw bad("empty; expected \"host:port\", e.g. \"127.0.0.1:9464\"");

  std::string_view host;
  std::string_view port;
  bool ipv6 = false;
  const std::string_view l = listen;
  if (l.front() == '[') {
    const std::size_t close = l.find("]:");
    if (close == std::string_view::npos) throw bad("expected \"[address]:port\" for IPv6");
    host = l.substr(1, close - 1);
    port = l.substr(close + 2);
    ipv6 = true;
  } else {
    const std::size_t colon = l.rfind(':');
    if (colon == std::string_view::npos) {
      port = l;
    } else {
      host = l.substr(0, colon);
      port = l.substr(colon + 1);
    }
    if (host.find(':') != std::string_view::npos) {
      throw bad("an IPv6 address must be written in brackets, e.g. \"[::1]:9464\"");
    }
  }
  if (port.size() > 5 || !all_digits(port)) throw bad("the port must be a number from 0 to 65535");
  const unsigned long port_number = std::stoul(std::string(port));
  if (port_number > 65535) throw bad("the port must be a number from 0 to 65535");

  ListenAddress out;
  out.port = static_cast<uint16_t>(port_number);
  std::array<unsigned char, 16> raw{};
  if (ipv6) {
    const std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), raw.data()) != 1) throw bad("not an IPv6 address");
    out.ipv6 = true;
    out.host = h;
    out.url_host = h == "::" ? "[::1]" : "[" + h + "]";
    static constexpr std::array<unsigned char, 16> kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0,
                                                                 0, 0, 0, 0, 0, 0, 0, 1};
    out.loopback = raw == kLoopback6;
    return out;
  }
  std::string h(host);
  if (h == "localhost") h = "127.0.0.1";
  if (h.empty()) h = "0.0.0.0";
  if (inet_pton(AF_INET, h.c_str(), raw.data()) != 1) {
    throw bad(
        "the host must be an IPv4 address, \"localhost\", a bracketed IPv6 address or "
        "empty (every interface)");
  }
  out.host = h;
  out.url_host = h == "0.0.0.0" ? "127.0.0.1" : h;
  out.loopback = raw[0] == 127;
  return out;
}

AccessControlList::AccessControlList(const std::string& text) {
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view entry = trim_blanks(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    AclEntry e;
    bool ok = entry.size() > 1 && (entry.front() == '+' || entry.front() == '-');
    if (ok) {
      e.allow = entry.front() == '+';
      std::string_view address = entry.substr(1);
      if (address == "::/0") {
        e.ipv6 = true;
        e.bits = 0;
      } else {
        const std::size_t slash = address.find('/');
        if (slash != std::string_view::npos) {
          const std::string_view bits = address.substr(slash + 1);
          ok = bits.size() <= 2 && all_digits(bits) && std::stoi(std::string(bits)) <= 32;
          if (ok) e.bits = std::stoi(std::string(bits));
          address = address.substr(0, slash);
        }
        ok = ok && inet_pton(AF_INET, std::string(address).c_str(), e.address.data()) == 1;
      }
    }
    if (!ok) {
      throw Error(std::string(kPrefix) + "invalid access_control_list \"" + text + "\": entry \"" +
                  std::string(entry) +
                  "\" is not [+|-]IPv4[/bits] (e.g. \"-0.0.0.0/0,+127.0.0.1,+10.0.0.0/8\")");
    }
    entries_.push_back(e);
  }
}

bool AccessControlList::allows(std::string_view address) const noexcept {
  if (entries_.empty()) return true;
  char buf[64];
  if (address.size() >= sizeof buf) return false;
  std::memcpy(buf, address.data(), address.size());
  buf[address.size()] = '\0';
  std::array<unsigned char, 16> raw{};
  bool v6 = false;
  if (inet_pton(AF_INET, buf, raw.data()) != 1) {
    if (inet_pton(AF_INET6, buf, raw.data()) != 1) return false;
    v6 = true;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as IPv4.
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(raw.data(), kMapped, 12) == 0) {
      std::memmove(raw.data(), raw.data() + 12, 4);
      v6 = false;
    }
  }
  // With no matching entry: a list that starts by denying ("-0.0.0.0/0,+...") lists exceptions
  // to allow, so the client is allowed only by a later match; one that starts by allowing lists
  // who may connect, so others are denied. IPv6 clients are allowed unless "-::/0" matches.
  bool allowed = v6 ? true : !entries_.front().allow;
  for (const AclEntry& e : entries_) {
    if (e.ipv6 != v6) continue;
    bool match = true;
    if (!v6) {
      const uint32_t mask = e.bits == 0 ? 0 : ~uint32_t{0} << (32 - e.bits);
      uint32_t a = 0;
      uint32_t b = 0;
      for (int i = 0; i < 4; ++i) {
        a = a << 8 | raw[static_cast<std::size_t>(i)];
        b = b << 8 | e.address[static_cast<std::size_t>(i)];
      }
      match = (a & mask) == (b & mask);
    }
    if (match) allowed = e.allow;
  }
  return allowed;
}

}  // namespace vigil::admin::detail
