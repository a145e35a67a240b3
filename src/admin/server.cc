#include "vigil/admin/server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gzip.h"
#include "vigil/core/error.h"
#include "vigil/metrics/http_metrics.h"

namespace vigil::admin {

// ---------------------------------------------------------------------------------------------
// Request

namespace {

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  if (query.empty() || name.empty()) return std::nullopt;
  const std::string key(name);
  // Decoding never makes a value longer than its encoded form.
  std::string value(query.size() + 1, '\0');
  const int n = mg_get_var2(query.data(), query.size(), key.c_str(), value.data(), value.size(), 0);
  if (n < 0) return std::nullopt;
  value.resize(static_cast<std::size_t>(n));
  return value;
}

// ---------------------------------------------------------------------------------------------
// Helpers

namespace {

constexpr std::string_view kPrefix = "admin server: ";

struct Route {
  std::string path;
  bool prefix = false;
  std::vector<std::string> methods;
  std::string description;
  Handler handler;

  bool accepts(std::string_view method) const noexcept {
    if (methods.empty()) return true;
    for (const std::string& m : methods) {
      if (m == method) return true;
      if (method == "HEAD" && m == "GET") return true;
    }
    return false;
  }

  std::string allow_header() const {
    std::string allow;
    bool has_get = false;
    bool has_head = false;
    for (const std::string& m : methods) {
      if (!allow.empty()) allow += ", ";
      allow += m;
      has_get = has_get || m == "GET";
      has_head = has_head || m == "HEAD";
    }
    if (has_get && !has_head) allow += ", HEAD";
    return allow;
  }
};

bool is_method_token(std::string_view m) noexcept {
  if (m.empty() || m.size() > 32) return false;
  return std::all_of(m.begin(), m.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool is_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kTokenPunct.find(c) != std::string_view::npos;
  });
}

bool is_header_value(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers the server computes itself; a handler's copies are dropped.
bool is_reserved_header(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 6> kReserved = {
      "content-length", "transfer-encoding", "connection",
      "date",           "content-type",      "x-content-type-options"};
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [&](std::string_view r) { return iequals(name, r); });
}

// The current time as an HTTP date (RFC 9110 IMF-fixdate), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
// Computed here with gmtime_r because civetweb, when a response has no Date header, formats one
// with gmtime(), whose static buffer races between worker threads (Debian's libcivetweb is built
// without REENTRANT_TIME; ThreadSanitizer reports it under concurrent requests).
std::string http_date_now() {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  if (gmtime_r(&now, &tm) == nullptr || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
      tm.tm_mon > 11) {
    return "Thu, 01 Jan 1970 00:00:00 GMT";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

bool has_header(const Response& r, std::string_view name) noexcept {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

void html_escape(std::string_view in, std::string& out) {
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

Response text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The parsed `listen` option.
struct ListenAddress {
  std::string civetweb_spec;  // what civetweb's listening_ports gets
  std::string url_host;       // host part of url()
  bool ipv6 = false;
  std::array<unsigned char, 16> address{};  // bound address in network order (4 bytes for IPv4)
};

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

  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw bad("the port must be a number from 0 to 65535");
  }
  const unsigned long port_number = std::stoul(std::string(port));
  if (port_number > 65535) throw bad("the port must be a number from 0 to 65535");

  ListenAddress out;
  const std::string port_str = std::to_string(port_number);
  if (ipv6) {
    if (mg_check_feature(MG_FEATURES_IPV6) == 0) {
      throw bad("IPv6 is not supported by the installed civetweb library");
    }
    const std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), out.address.data()) != 1) throw bad("not an IPv6 address");
    out.ipv6 = true;
    out.civetweb_spec = "[" + h + "]:" + port_str;
    out.url_host = h == "::" ? "[::1]" : "[" + h + "]";
    return out;
  }
  std::string h(host);
  if (h == "localhost") h = "127.0.0.1";
  if (!h.empty()) {
    if (inet_pton(AF_INET, h.c_str(), out.address.data()) != 1) {
      throw bad("the host must be an IPv4 address, \"localhost\" or empty (every interface)");
    }
  }
  out.civetweb_spec = h.empty() ? port_str : h + ":" + port_str;
  out.url_host = (h.empty() || h == "0.0.0.0") ? "127.0.0.1" : h;
  return out;
}

// Checks an access control list ("[+|-]IPv4[/bits]" entries separated by commas, as civetweb
// expects) and returns it without blanks around the entries. Throws vigil::Error. civetweb
// checks it again at start, but leaks a little memory when it fails there.
std::string normalize_acl(const std::string& acl) {
  std::string out;
  std::string_view rest = acl;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    bool ok = entry.size() > 1 && (entry.front() == '+' || entry.front() == '-');
    if (ok) {
      std::string_view address = entry.substr(1);
      const std::size_t slash = address.find('/');
      if (slash != std::string_view::npos) {
        const std::string_view bits = address.substr(slash + 1);
        ok = !bits.empty() && bits.size() <= 2 &&
             std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
             std::stoi(std::string(bits)) <= 32;
        address = address.substr(0, slash);
      }
      std::array<unsigned char, 4> buf{};
      ok = ok && inet_pton(AF_INET, std::string(address).c_str(), buf.data()) == 1;
    }
    if (!ok) {
      throw Error(std::string(kPrefix) + "invalid access_control_list \"" + acl + "\": entry \"" +
                  std::string(entry) +
                  "\" is not [+|-]IPv4[/bits] (e.g. \"-0.0.0.0/0,+127.0.0.1,+10.0.0.0/8\")");
    }
    if (!out.empty()) out += ',';
    out += entry;
  }
  return out;
}

// civetweb's global initialization, once per process. It is never undone: other code in the
// process may use civetweb too, and mg_exit_library is not reference-counted safely.
void init_civetweb_once() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

// Reads exactly `want` bytes of request body (or less when the peer goes away).
bool read_exact(mg_connection* conn, std::string& out, std::size_t want) {
  out.resize(want);
  std::size_t got = 0;
  while (got < want) {
    const int n = mg_read(conn, out.data() + got, want - got);
    if (n <= 0) {
      out.resize(got);
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

// The inode of the listening TCP socket bound to `address`:`port` in /proc/net/tcp (or tcp6),
// or 0. Two listening sockets cannot share an address and port without SO_REUSEPORT, which
// civetweb does not set.
unsigned long listening_socket_inode(const ListenAddress& address, uint16_t port) {
  std::ifstream in(address.ipv6 ? "/proc/net/tcp6" : "/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // column titles
  // The kernel prints the address as the hex of its in-memory 32-bit words.
  std::string want_address;
  for (std::size_t i = 0; i < (address.ipv6 ? 16u : 4u); i += 4) {
    uint32_t word = 0;
    std::memcpy(&word, address.address.data() + i, 4);
    char hex[9];
    std::snprintf(hex, sizeof(hex), "%08X", word);
    want_address += hex;
  }
  char want_port[5];
  std::snprintf(want_port, sizeof(want_port), "%04X", static_cast<unsigned>(port));
  const std::string want_local = want_address + ":" + want_port;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
    unsigned long inode = 0;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode)) {
      continue;
    }
    if (state == "0A" && local == want_local) return inode;  // 0A: TCP_LISTEN
  }
  return 0;
}

// The descriptor of civetweb's listening socket for `address`:`port`, or -1: the descriptor in
// /proc/self/fd that links to that socket's inode. Only paths are read; no descriptor of this
// process is touched. Linux only; elsewhere -1, and stop() is merely slower.
int find_listening_socket(const ListenAddress& address, uint16_t port) {
  const unsigned long inode = listening_socket_inode(address, port);
  if (inode == 0) return -1;
  const std::string target = "socket:[" + std::to_string(inode) + "]";
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  std::array<char, 64> link{};
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const std::string path = std::string("/proc/self/fd/") + entry->d_name;
    const ssize_t n = readlink(path.c_str(), link.data(), link.size());
    if (n > 0 && std::string_view(link.data(), static_cast<std::size_t>(n)) == target) {
      found = std::atoi(entry->d_name);
      break;
    }
  }
  closedir(dir);
  return found;
}

// Reads and discards request body bytes: at most 32 MiB and about 2 s (plus one read's
// request_timeout), stopping early when the body ends or the client closes.
void drain_body(mg_connection* conn) noexcept {
  constexpr std::size_t kMaxBytes = std::size_t{32} << 20;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::array<char, 16384> buf;
  std::size_t total = 0;
  while (total < kMaxBytes && std::chrono::steady_clock::now() < deadline) {
    const int n = mg_read(conn, buf.data(), std::min(buf.size(), kMaxBytes - total));
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
}

bool write_all(mg_connection* conn, std::string_view data) {
  while (!data.empty()) {
    const std::size_t chunk = std::min<std::size_t>(data.size(), std::size_t{1} << 20);
    const int n = mg_write(conn, data.data(), chunk);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Server::Impl

class Server::Impl {
 public:
  explicit Impl(ServerOptions options) : options_(std::move(options)) {
    if (options_.self_metrics != nullptr) {
      http_metrics_.emplace(*options_.self_metrics,
                            metrics::HttpServerMetricsOptions{.prefix = "vigil_admin_http"});
    }
    if (options_.threads < 1 || options_.threads > 256) {
      throw Error(std::string(kPrefix) + "threads must be from 1 to 256, got " +
                  std::to_string(options_.threads));
    }
    if (options_.request_timeout.count() <= 0) {
      throw Error(std::string(kPrefix) + "request_timeout must be positive, got " +
                  std::to_string(options_.request_timeout.count()) + " ms");
    }
    if (!options_.tls_certificate.empty()) {
      // Debian 12's civetweb 1.15 is built with TLS but loads OpenSSL 1.1 symbols at run time;
      // with OpenSSL 3 it fails to initialize or crashes on the first handshake. Refuse rather
      // than serve something broken.
      throw Error(std::string(kPrefix) + "tls_certificate \"" + options_.tls_certificate +
                  "\" is set but TLS is not supported with the installed civetweb " + mg_version() +
                  " (it cannot use OpenSSL 3); serve plain HTTP on a private address and "
                  "terminate TLS in a reverse proxy");
    }
    address_ = parse_listen(options_.listen);
    acl_ = normalize_acl(options_.access_control_list);
  }

  ~Impl() { stop(); }

  void handle(std::string path, Handler handler, HandleOptions opts) {
    if (path.empty() || path.front() != '/') {
      throw Error(std::string(kPrefix) + "handler path \"" + path + "\" must start with '/'");
    }
    if (path.find_first_of("?#") != std::string::npos ||
        std::any_of(path.begin(), path.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      throw Error(std::string(kPrefix) + "handler path \"" + path +
                  "\" must not contain '?', '#' or control characters");
    }
    if (!handler) {
      throw Error(std::string(kPrefix) + "handler for \"" + path + "\" is empty");
    }
    for (const std::string& m : opts.methods) {
      if (!is_method_token(m)) {
        throw Error(std::string(kPrefix) + "handler for \"" + path + "\": method \"" + m +
                    "\" is not an upper-case HTTP method token such as GET or POST");
      }
    }
    auto route = std::make_shared<Route>();
    route->path = path;
    route->prefix = opts.prefix;
    route->methods = std::move(opts.methods);
    route->description = std::move(opts.description);
    route->handler = std::move(handler);

    std::unique_lock lock(routes_mu_);
    auto& table = route->prefix ? prefix_ : exact_;
    if (table.count(path) != 0) {
      throw Error(std::string(kPrefix) + "a handler for " + (route->prefix ? "prefix " : "path ") +
                  "\"" + path + "\" is already registered");
    }
    table.emplace(std::move(path), std::move(route));
  }

  bool remove(std::string_view path, bool prefix) noexcept {
    std::unique_lock lock(routes_mu_);
    auto& table = prefix ? prefix_ : exact_;
    auto it = table.find(path);
    if (it == table.end()) return false;
    table.erase(it);
    return true;
  }

  void start() {
    std::lock_guard lifecycle(lifecycle_mu_);
    if (ctx_ != nullptr) {
      throw Error(std::string(kPrefix) + "start() called while already running on " + url());
    }
    init_civetweb_once();

    // clang-format off
    const std::vector<std::string> config = {
        "listening_ports", address_.civetweb_spec,
        "num_threads", std::to_string(options_.threads),
        "request_timeout_ms", std::to_string(options_.request_timeout.count()),
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", "5000",
        // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        // holds the body until the client ACKs the headers, which a client with delayed ACKs
        // (Linux: 40 ms) does late. Every request after the first on a keep-alive connection
        // took 40 ms instead of ~0.1 ms.
        "tcp_nodelay", "1",
        // civetweb's own error pages (400 for malformed requests, ...) get it too; responses
        // from handlers add it in send_response.
        "additional_header", "X-Content-Type-Options: nosniff",
        // No CORS: an admin endpoint must not be readable by arbitrary web pages.
        "access_control_allow_origin", "",
        "access_control_list", acl_,
        "decode_url", "yes",
    };
    // clang-format on
    std::vector<const char*> argv;
    for (std::size_t i = 0; i < config.size(); i += 2) {
      if (config[i + 1].empty() && config[i] == "access_control_list") continue;
      argv.push_back(config[i].c_str());
      argv.push_back(config[i + 1].c_str());
    }
    argv.push_back(nullptr);

    mg_callbacks callbacks{};
    callbacks.log_message = &Impl::on_log;
    mg_init_data init{};
    init.callbacks = &callbacks;
    init.user_data = this;
    init.configuration_options = argv.data();
    std::array<char, 256> error_text{};
    unsigned error_code = 0;
    mg_error_data error{};
    error.code = &error_code;
    error.text = error_text.data();
    error.text_buffer_size = error_text.size();

    {
      std::lock_guard log_lock(log_mu_);
      start_log_.clear();
    }
    mg_context* ctx = mg_start2(&init, &error);
    if (ctx == nullptr) throw Error(start_error(error_text.data()));

    std::array<mg_server_port, 4> ports{};
    const int n = mg_get_server_ports(ctx, static_cast<int>(ports.size()), ports.data());
    if (n < 1 || ports[0].port <= 0 || ports[0].port > 65535) {
      mg_stop(ctx);
      throw Error(std::string(kPrefix) + "cannot listen on " + options_.listen +
                  ": civetweb reports no listening port");
    }
    mg_set_request_handler(ctx, "/", &Impl::on_request, this);
    ctx_ = ctx;
    try {
      listen_fd_ = find_listening_socket(address_, static_cast<uint16_t>(ports[0].port));
    } catch (...) {
      listen_fd_ = -1;  // only makes stop() slower
    }
    port_.store(static_cast<uint16_t>(ports[0].port), std::memory_order_release);
    running_.store(true, std::memory_order_release);
  }

  void stop() noexcept {
    std::lock_guard lifecycle(lifecycle_mu_);
    if (ctx_ == nullptr) return;
    running_.store(false, std::memory_order_release);
    // civetweb's listening thread checks for a stop request between 2-second polls of its
    // socket. Shutting the socket down first wakes that poll at once (accept then fails and the
    // loop sees the stop flag), so stop() takes milliseconds. The descriptor is still open and
    // still civetweb's here: only mg_stop closes it.
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    mg_stop(ctx_);  // joins the master and every worker thread
    ctx_ = nullptr;
    listen_fd_ = -1;
    port_.store(0, std::memory_order_release);
  }

  bool running() const noexcept { return running_.load(std::memory_order_acquire); }
  uint16_t port() const noexcept { return port_.load(std::memory_order_acquire); }

  std::string url() const {
    const uint16_t p = port();
    if (p == 0) return {};
    return "http://" + address_.url_host + ":" + std::to_string(p);
  }

 private:
  // Builds the start() error from civetweb's error text and the messages it logged while
  // starting: "admin server: cannot listen on ADDR: REASON" (the bind error carries errno's
  // text), or "admin server: invalid access_control_list ...".
  std::string start_error(const char* civetweb_text) {
    std::vector<std::string> log;
    {
      std::lock_guard log_lock(log_mu_);
      log.swap(start_log_);
    }
    const std::string text = civetweb_text != nullptr ? civetweb_text : "";
    for (const std::string& line : log) {
      if (line.find("cannot bind") == std::string::npos) continue;
      const std::size_t open = line.rfind('(');
      const std::size_t close = line.rfind(')');
      std::string reason = line;
      if (open != std::string::npos && close != std::string::npos && close > open) {
        reason = line.substr(open + 1, close - open - 1);
        std::transform(reason.begin(), reason.end(), reason.begin(), ascii_lower);
      }
      return std::string(kPrefix) + "cannot listen on " + options_.listen + ": " + reason;
    }
    std::string detail;  // the last logged line that says more than `text`
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      if (*it != text) {
        detail = *it;
        break;
      }
    }
    if (text.find("access control list") != std::string::npos) {
      return std::string(kPrefix) + "invalid access_control_list \"" +
             options_.access_control_list + "\": " + (detail.empty() ? text : detail) +
             " (expected comma-separated [+|-]IPv4[/bits], e.g. \"-0.0.0.0/0,+127.0.0.1\")";
    }
    std::string reason =
        text.empty() ? detail : (detail.empty() ? text : text + " (" + detail + ")");
    if (reason.empty()) reason = "civetweb could not start";
    const bool ports = text.find("port") != std::string::npos;
    return std::string(kPrefix) + (ports ? "cannot listen on " : "cannot start on ") +
           options_.listen + ": " + reason;
  }

  static int on_log(const mg_connection* conn, const char* message) {
    if (conn == nullptr || message == nullptr) return 1;
    auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
    if (self == nullptr) return 1;
    try {
      std::lock_guard log_lock(self->log_mu_);
      if (self->start_log_.size() < 16) self->start_log_.emplace_back(message);
    } catch (...) {
      // Logging must never throw into civetweb.
    }
    return 1;  // civetweb prints nothing itself
  }

  static int on_request(mg_connection* conn, void* cbdata) {
    auto* self = static_cast<Impl*>(cbdata);
    bool sent = false;
    std::optional<metrics::HttpServerMetrics::Scope> scope;
    std::shared_ptr<const Route> route;  // keeps the route label alive until finish()
    if (self->http_metrics_) {
      const mg_request_info* ri = mg_get_request_info(conn);
      scope.emplace(self->http_metrics_->start(
          ri != nullptr && ri->request_method != nullptr ? ri->request_method : "", "unmatched"));
    }
    try {
      const int status = self->dispatch(conn, sent, route);
      if (scope) {
        if (route) scope->set_route(route->path);
        scope->finish(status);
      }
      return status;
    } catch (...) {
      if (!sent) {
        try {
          mg_disable_connection_keep_alive(conn);
          const mg_request_info* ri = mg_get_request_info(conn);
          const bool head = ri != nullptr && ri->request_method != nullptr &&
                            std::string_view(ri->request_method) == "HEAD";
          Response r = text_response(500, "500 Internal Server Error\n");
          self->send_response(conn, nullptr, r, head);
        } catch (...) {
        }
      }
      return 500;
    }
  }

  std::shared_ptr<const Route> find_route(std::string_view path) const {
    std::shared_lock lock(routes_mu_);
    if (auto it = exact_.find(path); it != exact_.end()) return it->second;
    const Route* best = nullptr;
    std::shared_ptr<const Route> best_ptr;
    for (const auto& [prefix, route] : prefix_) {
      if (path.substr(0, prefix.size()) != prefix) continue;
      if (best == nullptr || prefix.size() > best->path.size()) {
        best = route.get();
        best_ptr = route;
      }
    }
    return best_ptr;
  }

  Response index_page() const {
    std::vector<std::shared_ptr<const Route>> routes;
    {
      std::shared_lock lock(routes_mu_);
      for (const auto& [p, r] : exact_) routes.push_back(r);
      for (const auto& [p, r] : prefix_) routes.push_back(r);
    }
    std::sort(routes.begin(), routes.end(),
              [](const auto& a, const auto& b) { return a->path < b->path; });
    Response r;
    r.content_type = "text/html; charset=utf-8";
    r.body =
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>vigil admin</title></head>\n"
        "<body><h1>vigil admin</h1>\n<ul>\n";
    for (const auto& route : routes) {
      r.body += "<li>";
      const bool linkable = !route->prefix && route->accepts("GET");
      if (linkable) {
        r.body += "<a href=\"";
        html_escape(route->path, r.body);
        r.body += "\">";
      }
      r.body += "<code>";
      html_escape(route->path, r.body);
      if (route->prefix) r.body += "*";
      r.body += "</code>";
      if (linkable) r.body += "</a>";
      if (!route->methods.empty()) {
        r.body += " (";
        html_escape(route->allow_header(), r.body);
        r.body += ")";
      }
      if (!route->description.empty()) {
        r.body += " &mdash; ";
        html_escape(route->description, r.body);
      }
      r.body += "</li>\n";
    }
    r.body += "</ul>\n</body></html>\n";
    return r;
  }

  int dispatch(mg_connection* conn, bool& sent, std::shared_ptr<const Route>& matched) {
    const mg_request_info* ri = mg_get_request_info(conn);
    if (ri == nullptr) return 0;

    std::array<Header, MG_MAX_HEADERS> headers;
    const std::size_t num_headers =
        static_cast<std::size_t>(std::clamp(ri->num_headers, 0, MG_MAX_HEADERS));
    for (std::size_t i = 0; i < num_headers; ++i) {
      const mg_header& h = ri->http_headers[i];
      headers[i] = Header{h.name != nullptr ? h.name : "", h.value != nullptr ? h.value : ""};
    }

    Request req;
    req.method = ri->request_method != nullptr ? ri->request_method : "";
    req.path = ri->local_uri != nullptr ? ri->local_uri : "";
    req.query = ri->query_string != nullptr ? ri->query_string : "";
    req.remote_address = ri->remote_addr;
    req.headers = std::span<const Header>(headers.data(), num_headers);
    const bool head = req.method == "HEAD";

    const long long content_length = ri->content_length;
    bool chunked = false;
    if (auto te = req.header("Transfer-Encoding")) {
      std::string lowered(*te);
      std::transform(lowered.begin(), lowered.end(), lowered.begin(), ascii_lower);
      chunked = lowered.find("chunked") != std::string::npos;
    }
    const bool has_body = content_length > 0 || (content_length < 0 && chunked);

    const std::optional<std::string_view> expect = req.header("Expect");
    // Answers before (all of) the body is read: 404, 405, 413, 417.
    auto reply = [&](Response r) {
      sent = true;
      if (has_body) {
        // A body left unread would be taken for the next request on this connection.
        mg_disable_connection_keep_alive(conn);
      }
      send_response(conn, &req, r, head);
      // Closing a socket with unread input makes the kernel send a reset, which can destroy the
      // response before the client reads it. So read and discard what the client is still
      // sending, within bounds. A client waiting for "100 Continue" sends nothing: skip.
      if (has_body && !expect) drain_body(conn);
      return r.status;
    };

    std::shared_ptr<const Route> route = find_route(req.path);
    matched = route;
    if (route == nullptr) {
      if (req.path == "/" && (req.method == "GET" || head)) return reply(index_page());
      return reply(text_response(404, "404 Not Found\n"));
    }
    if (!route->accepts(req.method)) {
      Response r = text_response(405, "405 Method Not Allowed\n");
      r.headers.emplace_back("Allow", route->allow_header());
      return reply(std::move(r));
    }

    std::string body;
    const std::size_t limit = options_.max_request_body_bytes;
    if (has_body) {
      // civetweb sends "100 Continue" only for its own PUT handling, and once anything is written
      // its response-header API refuses to start the final response; so no interim response is
      // sent and a client that waits for one (curl with bodies over 1 KiB) sends the body after
      // its own timeout (1 s for curl). An expectation other than 100-continue gets 417.
      if (expect && !iequals(*expect, "100-continue")) {
        return reply(text_response(417, "417 Expectation Failed\n"));
      }
    }
    if (content_length > 0) {
      if (static_cast<unsigned long long>(content_length) > limit) {
        return reply(text_response(
            413, "413 Payload Too Large: the limit is " + std::to_string(limit) + " bytes\n"));
      }
      if (!read_exact(conn, body, static_cast<std::size_t>(content_length))) {
        mg_disable_connection_keep_alive(conn);
        return 400;  // the client went away mid-body; nobody to answer
      }
    } else if (content_length < 0 && chunked) {
      std::array<char, 8192> buf;
      for (;;) {
        const int n = mg_read(conn, buf.data(), buf.size());
        if (n < 0) {
          mg_disable_connection_keep_alive(conn);
          return 400;
        }
        if (n == 0) break;
        if (body.size() + static_cast<std::size_t>(n) > limit) {
          return reply(text_response(
              413, "413 Payload Too Large: the limit is " + std::to_string(limit) + " bytes\n"));
        }
        body.append(buf.data(), static_cast<std::size_t>(n));
      }
    }
    req.body = body;

    Response response;
    try {
      response = route->handler(req);
    } catch (...) {
      response = text_response(500, "500 Internal Server Error: the handler failed\n");
    }
    sent = true;
    send_response(conn, &req, response, head);
    return response.status;
  }

  // Sends `r` (gzipped when `req` accepts it). `req` may be null (no negotiation).
  void send_response(mg_connection* conn, const Request* req, Response& r, bool head) const {
    if (r.status < 100 || r.status > 999) r = text_response(500, "500 Internal Server Error\n");
    const bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;

    std::string_view body = r.body;
    std::string compressed;
    bool gzipped = false;
    bool varies = false;
    if (options_.enable_gzip && !bodyless && body.size() >= options_.gzip_min_bytes &&
        !has_header(r, "Content-Encoding")) {
      varies = true;
      const std::optional<std::string_view> accept =
          req != nullptr ? req->header("Accept-Encoding") : std::nullopt;
      if (accept && detail::accepts_gzip(*accept)) {
        if (std::optional<std::string> z = detail::gzip_compress(body)) {
          compressed = std::move(*z);
          body = compressed;
          gzipped = true;
        }
      }
    }

    auto add = [conn](std::string_view name, std::string_view value) {
      const std::string n(name);
      mg_response_header_add(conn, n.c_str(), value.data(), static_cast<int>(value.size()));
    };
    mg_response_header_start(conn, r.status);
    if (!bodyless) {
      add("Content-Type", r.content_type);
      add("Content-Length", std::to_string(body.size()));
    }
    add("X-Content-Type-Options", "nosniff");
    add("Date", http_date_now());  // so civetweb does not call gmtime() (see http_date_now)
    if (gzipped) add("Content-Encoding", "gzip");
    if (varies) add("Vary", "Accept-Encoding");
    for (const auto& [name, value] : r.headers) {
      if (!is_header_name(name) || !is_header_value(value) || is_reserved_header(name)) continue;
      add(name, value);
    }
    mg_response_header_send(conn);
    if (!head && !bodyless) write_all(conn, body);
  }

  const ServerOptions options_;
  std::optional<metrics::HttpServerMetrics> http_metrics_;  // set when options_.self_metrics
  ListenAddress address_;
  std::string acl_;  // options_.access_control_list, checked and without blanks

  mutable std::shared_mutex routes_mu_;
  std::map<std::string, std::shared_ptr<const Route>, std::less<>> exact_;
  std::map<std::string, std::shared_ptr<const Route>, std::less<>> prefix_;

  std::mutex lifecycle_mu_;  // serializes start() and stop()
  mg_context* ctx_ = nullptr;
  int listen_fd_ = -1;  // civetweb's listening socket, to wake it in stop(); -1 if unknown
  std::atomic<bool> running_{false};
  std::atomic<uint16_t> port_{0};

  std::mutex log_mu_;
  std::vector<std::string> start_log_;  // civetweb's log lines, kept to explain a failed start
};

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;

void Server::handle(std::string path, Handler handler, HandleOptions options) {
  impl_->handle(std::move(path), std::move(handler), std::move(options));
}
bool Server::remove(std::string_view path, bool prefix) noexcept {
  return impl_->remove(path, prefix);
}
void Server::start() { impl_->start(); }
void Server::stop() noexcept { impl_->stop(); }
bool Server::running() const noexcept { return impl_->running(); }
uint16_t Server::port() const noexcept { return impl_->port(); }
std::string Server::url() const { return impl_->url(); }

}  // namespace vigil::admin
