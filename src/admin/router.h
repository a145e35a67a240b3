// src/admin/router.h (private): the admin server's route table: registration, lookup by path
// (exact first, then the longest prefix), and the index page. Not installed.
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/admin/server.h"

namespace vigil::admin::detail {

struct Route {
  std::string path;
  bool prefix = false;
  std::vector<std::string> methods;
  std::string description;
  Access access = Access::kDefault;
  Handler handler;

  // Whether `method` is accepted (GET also accepts HEAD). Never throws.
  bool accepts(std::string_view method) const noexcept;
  // The Allow header for a 405: the accepted methods, with HEAD when GET is accepted.
  std::string allow_header() const;
};

// Thread-safe: lookups share a lock, registrations take it exclusively.
class Router {
 public:
  // Throws vigil::Error on a malformed path, an empty handler, a bad method or a duplicate.
  void add(std::string path, Handler handler, HandleOptions options);
  bool remove(std::string_view path, bool prefix) noexcept;
  // The route for `path`, or null. The route stays valid while the pointer is held, also when
  // it is removed meanwhile.
  std::shared_ptr<const Route> find(std::string_view path) const;
  // The HTML index of the registered paths (every value escaped).
  Response index_page() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const Route>, std::less<>> exact_;
  std::map<std::string, std::shared_ptr<const Route>, std::less<>> prefix_;
};

}  // namespace vigil::admin::detail
