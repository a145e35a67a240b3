#include "vigil/admin/health_endpoints.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/detail/text.h"
#include "routes.h"
#include "vigil/core/error.h"
#include "vigil/health/monitor.h"

namespace vigil::admin {
namespace {

// Constant-time comparison (for the bearer token): the time does not depend on where the
// strings differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

struct Shared {
  health::HealthMonitor* monitor;
  std::string token;
  std::function<bool(const Request&)> authenticate;
  health::Detail unauthenticated;
  bool detail_chosen = false;  // unauthenticated_detail was set explicitly

  bool authenticated(const Request& req) const noexcept {
    if (!token.empty()) {
      if (std::optional<std::string_view> h = req.header("Authorization")) {
        const std::string_view v = vigil::detail::trim(*h);
        if (v.size() > 7 && vigil::detail::starts_with_icase(v, "bearer ")) {
          if (constant_time_equal(vigil::detail::trim(v.substr(7)), token)) return true;
        }
      }
    }
    if (authenticate) {
      try {
        return authenticate(req);
      } catch (...) {
        return false;
      }
    }
    return false;
  }

  Response respond(const Request& req, const health::HealthReport& report) const {
    // On an exposed server (not bound to loopback), only the admin token or this endpoint's own
    // authentication shows details, unless the options chose the unauthenticated detail.
    health::Detail detail = unauthenticated;
    if (req.authenticated || authenticated(req)) {
      detail = health::Detail::kFull;
    } else if (req.exposed && !detail_chosen) {
      detail = health::Detail::kStatusOnly;
    }
    Response res;
    res.status = health::http_status(report.status);
    res.content_type = health::kHealthJsonContentType;
    res.body = health::to_json(report, detail);
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }
};

}  // namespace

void add_health_endpoints(Server& server, health::HealthMonitor& monitor,
                          HealthEndpointOptions options) {
  // Checked before copying: GCC 12 at -O3 reports a false -Wmaybe-uninitialized when a
  // moved-into string is inspected here.
  const std::string& wanted = options.path;
  if (wanted.empty() || wanted.front() != '/') {
    throw Error("health endpoints: the path must start with '/' (got \"" + wanted + "\")");
  }
  std::string base = wanted;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string prefix = base == "/" ? std::string("/") : base + "/";

  auto shared = std::make_shared<Shared>();
  shared->monitor = &monitor;
  shared->token = std::move(options.bearer_token);
  shared->authenticate = std::move(options.authenticate);
  const bool has_auth = !shared->token.empty() || static_cast<bool>(shared->authenticate);
  shared->detail_chosen = options.unauthenticated_detail.has_value();
  shared->unauthenticated = options.unauthenticated_detail.value_or(
      has_auth ? health::Detail::kStatusOnly : health::Detail::kFull);

  // Probe status codes are public; details are decided by respond().
  std::vector<detail::RouteSpec> routes;
  constexpr Access kProbe = Access::kPublic;
  auto group_route = [&](std::string path, std::string_view group, std::string description) {
    routes.push_back({std::move(path),
                      false,
                      {"GET"},
                      [shared, group = std::string(group)](const Request& req) {
                        return shared->respond(req, shared->monitor->evaluate(group));
                      },
                      std::move(description),
                      kProbe});
  };
  group_route(prefix + "live", health::kLiveness, "liveness probe (application/health+json)");
  group_route(prefix + "ready", health::kReadiness, "readiness probe (application/health+json)");
  group_route(prefix + "startup", health::kStartup, "startup probe (application/health+json)");
  routes.push_back({base,
                    false,
                    {"GET"},
                    [shared](const Request& req) {
                      return shared->respond(req, shared->monitor->evaluate_all());
                    },
                    "health of every check (application/health+json)",
                    kProbe});
  if (options.group_endpoints) {
    routes.push_back(
        {prefix,
         true,
         {"GET"},
         [shared, prefix](const Request& req) {
           const std::string_view group = req.path.substr(std::min(prefix.size(), req.path.size()));
           if (group.empty() || group.find('/') != std::string_view::npos ||
               !shared->monitor->has_group(group)) {
             Response res;
             res.status = 404;
             res.body = "404 Not Found: no health check group \"" + std::string(group) + "\"\n";
             return res;
           }
           return shared->respond(req, shared->monitor->evaluate(group));
         },
         "health of a check group, e.g. " + prefix + "dependencies",
         kProbe});
  }

  detail::add_routes(server, std::move(routes));
}

}  // namespace vigil::admin
