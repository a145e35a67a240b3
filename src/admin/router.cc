#include "router.h"

#include <algorithm>
#include <mutex>

#include "vigil/core/error.h"

namespace vigil::admin::detail {

namespace {

constexpr std::string_view kPrefix = "admin server: ";

bool is_method_token(std::string_view m) noexcept {
  if (m.empty() || m.size() > 32) return false;
  return std::all_of(m.begin(), m.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
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

}  // namespace

bool Route::accepts(std::string_view method) const noexcept {
  if (methods.empty()) return true;
  for (const std::string& m : methods) {
    if (m == method) return true;
    if (method == "HEAD" && m == "GET") return true;
  }
  return false;
}

std::string Route::allow_header() const {
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

void Router::add(std::string path, Handler handler, HandleOptions opts) {
  if (path.empty() || path.front() != '/') {
    throw Error(std::string(kPrefix) + "handler path \"" + path + "\" must start with '/'");
  }
  if (path.find_first_of("?#") != std::string::npos ||
      std::any_of(path.begin(), path.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw Error(std::string(kPrefix) + "handler path \"" + path +
                "\" must not contain '?', '#' or control characters");
  }
  if (!handler) throw Error(std::string(kPrefix) + "handler for \"" + path + "\" is empty");
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
  route->access = opts.access;
  route->handler = std::move(handler);

  std::unique_lock lock(mu_);
  auto& table = route->prefix ? prefix_ : exact_;
  if (table.count(path) != 0) {
    throw Error(std::string(kPrefix) + "a handler for " + (route->prefix ? "prefix " : "path ") +
                "\"" + path + "\" is already registered");
  }
  table.emplace(std::move(path), std::move(route));
}

bool Router::remove(std::string_view path, bool prefix) noexcept {
  std::unique_lock lock(mu_);
  auto& table = prefix ? prefix_ : exact_;
  auto it = table.find(path);
  if (it == table.end()) return false;
  table.erase(it);
  return true;
}

std::shared_ptr<const Route> Router::find(std::string_view path) const {
  std::shared_lock lock(mu_);
  if (auto it = exact_.find(path); it != exact_.end()) return it->second;
  std::shared_ptr<const Route> best;
  for (const auto& [prefix, route] : prefix_) {
    if (path.substr(0, prefix.size()) != prefix) continue;
    if (!best || prefix.size() > best->path.size()) best = route;
  }
  return best;
}

Response Router::index_page() const {
  std::vector<std::shared_ptr<const Route>> routes;
  {
    std::shared_lock lock(mu_);
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

}  // namespace vigil::admin::detail
