// The vigil side of bench/delivery_e2e_compare.sh: a process whose gauge bench_flip{rep} is
// evaluated by vigil's AlertManager (`bench_flip == 1`, for 0, every 1 s) and delivered by vigil's
// Dispatcher (group_wait 0, grouped by every label) to a webhook receiver, the same one the
// Prometheus + Alertmanager side delivers to.
//
//   build/release/bench/delivery_e2e_vigil --webhook=http://127.0.0.1:PORT/hook
//   (prints "PORT <port>" once serving; POST /flip?rep=N sets rep N's gauge to 1 and the
//   previous one's to 0; runs until killed)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "vigil/admin/server.h"
#include "vigil/alerting/dispatcher.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule.h"
#include "vigil/metrics/registry.h"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  std::string webhook;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--webhook=", 10) == 0) {
      webhook = argv[i] + 10;
    } else {
      std::fprintf(stderr, "usage: %s --webhook=URL\n", argv[0]);
      return 2;
    }
  }
  if (webhook.empty()) {
    std::fprintf(stderr, "usage: %s --webhook=URL\n", argv[0]);
    return 2;
  }
  vigil::metrics::Registry registry;
  auto& flip = registry.gauge("bench_flip", "1 while the repetition is flipped", {"rep"});

  vigil::alerting::AlertManagerOptions mo;
  mo.evaluation_interval = 1s;
  mo.registry = &registry;
  vigil::alerting::AlertManager manager(mo);
  manager.add_rule(
      vigil::alerting::AlertRule::builder().name("E2EFlip").expr("bench_flip == 1").build());

  vigil::alerting::DispatcherOptions d;
  d.routing.route.receiver = "hook";
  d.routing.route.group_by = std::vector<std::string>{"..."};
  d.routing.route.group_wait = 0ms;
  d.routing.route.group_interval = 1s;
  d.routing.route.repeat_interval = 1h;
  vigil::alerting::ReceiverConfig hook;
  hook.name = "hook";
  vigil::alerting::WebhookConfig w;
  w.url = webhook;
  w.send_resolved = false;
  hook.webhook_configs.push_back(w);
  d.routing.receivers.push_back(hook);
  vigil::alerting::Dispatcher dispatcher(std::move(d));
  dispatcher.attach(manager);
  dispatcher.start();
  manager.start();

  std::mutex mu;
  std::string current;
  vigil::admin::ServerOptions so;
  so.listen = "127.0.0.1:0";
  vigil::admin::Server server(so);
  server.handle("/flip",
                [&](const vigil::admin::Request& req) {
                  const std::string rep = req.query_param("rep").value_or("");
                  std::lock_guard lock(mu);
                  if (!current.empty()) flip.labels(current).set(0);
                  current = rep;
                  flip.labels(rep).set(1);
                  return vigil::admin::Response{200, "text/plain", "ok", {}};
                },
                {.methods = {"POST"}, .access = vigil::admin::Access::kPublic});
  server.start();
  std::printf("PORT %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  for (;;) std::this_thread::sleep_for(1h);
}
