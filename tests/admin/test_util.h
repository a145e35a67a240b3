// tests/admin/test_util.h: what the admin server tests share.
#pragma once

#include <string>
#include <utility>

#include "vigil/admin/server.h"

namespace vigil::admin::testing {

// A server on 127.0.0.1 with a free port.
inline ServerOptions local_options(int threads) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = threads;
  return o;
}

// A 200 text/plain response.
inline Response text(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

}  // namespace vigil::admin::testing
