// libFuzzer target: vigil::alerting::parse_routing_config (alertmanager.yml-style routing
// files) and the matcher parser. Checks: never crashes; a result has a config xor an error; a
// config that loads builds a Router and an Inhibitor without throwing, and routes label sets to at
// least one route with a valid group key; a matcher that parses compiles in a Router.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vigil/alerting/routing.h"
#include "vigil/core/error.h"

namespace {

using vigil::alerting::LabelList;

void route(const vigil::alerting::Router& router, const LabelList& labels) {
  const auto matches = router.match(labels);
  if (matches.empty()) std::abort();
  for (const auto* m : matches) {
    const std::string key = m->group_key(m->group_labels(labels));
    if (key.compare(0, m->key.size(), m->key) != 0) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = vigil::alerting::parse_routing_config(in, "fuzz.yml");
  if (r.config.has_value() == !r.error.empty()) std::abort();
  if (r) {
    try {
      vigil::alerting::Router router(*r.config);
      vigil::alerting::Inhibitor inhibitor(r.config->inhibit_rules);
      route(router, {});
      route(router, {{"alertname", "A"}, {"env", "prod"}, {"severity", "critical"}});
      route(router, {{"a", "b"}, {"service", "db"}, {"team", "x"}});
      (void)inhibitor.muted({{"severity", "warning"}}, {});
    } catch (const vigil::Error&) {
      std::abort();  // the loader must reject what the Router rejects
    }
  }

  std::string err;
  const auto one = vigil::alerting::parse_matcher(in, &err);
  if (one.has_value() != err.empty()) std::abort();
  const auto list = vigil::alerting::parse_matchers(in);
  if (one || list) {
    vigil::alerting::RoutingConfig cfg;
    cfg.route.receiver = "r";
    cfg.receivers.push_back({.name = "r"});
    vigil::alerting::Route child;
    if (one) child.matchers.push_back(*one);
    if (list) child.matchers.insert(child.matchers.end(), list->begin(), list->end());
    cfg.route.routes.push_back(child);
    try {
      vigil::alerting::Router router(cfg);
      route(router, {{"alertname", std::string(in.substr(0, 16))}});
    } catch (const vigil::Error&) {
      std::abort();  // parse_matcher checks regexes as the Router does
    }
  }
  return 0;
}
