// A small admin server with an AlertManager for tests/admin/amtool_check.sh: listens on
// 127.0.0.1 (a free port), prints its URL on the first line of stdout, and serves until stdin
// closes or 60 s pass. One C++ rule, "AmtoolCheck" (severity warning), fires at the first
// evaluation so that silences have something to match.
//
//   alerting_amtool_server TOKEN
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "vigil/admin/alerting_endpoints.h"
#include "vigil/admin/server.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s ADMIN_TOKEN\n", argv[0]);
    return 2;
  }
  vigil::alerting::AlertManager manager;
  manager.add_rule(vigil::alerting::AlertRule::builder()
                       .name("AmtoolCheck")
                       .condition([] { return true; })
                       .label("team", "infra")
                       .build());
  manager.evaluate();
  vigil::admin::ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.admin_token = argv[1];
  vigil::admin::Server server(o);
  vigil::admin::add_alerting_endpoints(server, manager);
  server.start();
  std::printf("%s\n", server.url().c_str());
  std::fflush(stdout);
  // Until stdin closes (or 60 s).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  char buf[256];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 1000) > 0) {
      if (::read(0, buf, sizeof buf) <= 0) break;
    }
  }
  server.stop();
  return 0;
}
