// All-or-nothing registration of an endpoint module's routes (routes.h).
#include "routes.h"

#include <cstddef>
#include <utility>

namespace vigil::admin::detail {

void add_routes(Server& server, std::vector<RouteSpec> routes) {
  size_t done = 0;
  try {
    for (RouteSpec& r : routes) {
      HandleOptions ho;
      ho.prefix = r.prefix;
      ho.methods = r.methods;
      ho.description = std::move(r.description);
      ho.access = r.access;
      server.handle(r.path, std::move(r.handler), std::move(ho));
      ++done;
    }
  } catch (...) {
    for (size_t i = 0; i < done; ++i) server.remove(routes[i].path, routes[i].prefix);
    throw;
  }
}

}  // namespace vigil::admin::detail
