// src/admin/routes.h (internal): how an endpoint module registers its routes, all or nothing.
//
//   std::vector<RouteSpec> routes;
//   routes.push_back({"/api/v1/things", false, {"GET"}, things_handler, "the things"});
//   add_routes(server, std::move(routes));  // throws vigil::Error; then none is registered
//
// Thread-safety: as Server::handle.
#pragma once

#include <string>
#include <vector>

#include "vigil/admin/server.h"

namespace vigil::admin::detail {

struct RouteSpec {
  std::string path;
  bool prefix = false;  // HandleOptions::prefix
  std::vector<std::string> methods = {"GET"};
  Handler handler;
  std::string description;
  Access access = Access::kDefault;
};

// Registers every route on `server`, or none: when one cannot be (its path is taken), those
// already registered are removed and the error is rethrown.
void add_routes(Server& server, std::vector<RouteSpec> routes);

}  // namespace vigil::admin::detail
