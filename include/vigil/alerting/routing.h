// vigil/alerting/routing.h: Alertmanager's routing model: a route tree that sends each alert to
// receivers, grouping options inherited down the tree, inhibition rules, and receivers with
// their channels. Built in C++ or loaded from an alertmanager.yml-style file.
//
//   vigil::alerting::RoutingConfig cfg;
//   cfg.route.receiver = "team";
//   cfg.route.group_by = {"alertname", "service"};
//   Route pages;
//   pages.receiver = "pager";
//   pages.matchers = {{"severity", MatchType::kEqual, "critical"}};
//   cfg.route.routes.push_back(pages);
//   cfg.receivers.push_back({.name = "team", .webhook_configs = {{.url = "http://..."}}});
//   cfg.receivers.push_back({.name = "pager", .pagerduty_configs = {{.routing_key = key}}});
//   vigil::alerting::Router router(cfg);          // throws vigil::Error when invalid
//   for (const RouteMatch* m : router.match(labels)) use(m->receiver, m->group_wait);
//
//   auto loaded = vigil::alerting::load_routing_file("alertmanager.yml");
//   if (!loaded) std::cerr << loaded.error;  // "alertmanager.yml:14: route ...: ..."
//
// Semantics are Alertmanager's (dispatch/route.go, config/config.go, inhibit/inhibit.go): an
// alert enters the root route (which matches everything); at each route the first child whose
// matchers match takes it, and later siblings are tried only while the matching child has
// `continue: true`; when no child matches, the route itself matches. group_by, group_wait,
// group_interval and repeat_interval are inherited from the parent when not set; `...` in
// group_by groups by all labels. Root defaults: group_wait 30s, group_interval 5m,
// repeat_interval 4h, no grouping labels. An inhibition rule mutes a target alert when a firing
// source alert exists with equal values of the `equal` labels (and the alert is not itself a
// source of the same rule).
//
// Thread-safety: Router and Inhibitor are immutable after construction except
// Inhibitor::update; match() is safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/alerting/notifier.h"
#include "vigil/alerting/notifiers.h"
#include "vigil/alerting/silence.h"

namespace vigil::alerting {

using LabelMatcher = SilenceMatcher;

struct Route {
  std::string receiver;  // "" = the parent's (required on the root)
  std::vector<LabelMatcher> matchers;
  bool continue_matching = false;  // Alertmanager's `continue`
  // nullopt = the parent's; {"..."} = every label; {} = no grouping labels (a file's
  // `group_by: []` loads as nullopt: Alertmanager 0.25 keeps the parent's there).
  std::optional<std::vector<std::string>> group_by;
  std::optional<std::chrono::milliseconds> group_wait;
  std::optional<std::chrono::milliseconds> group_interval;
  std::optional<std::chrono::milliseconds> repeat_interval;
  std::vector<Route> routes;
  int line = 0;  // where it was in the file (0 when built in C++)
};

struct InhibitRule {
  std::vector<LabelMatcher> source_matchers;
  std::vector<LabelMatcher> target_matchers;
  std::vector<std::string> equal;
  int line = 0;
};

struct ReceiverConfig {
  std::string name;
  std::vector<WebhookConfig> webhook_configs;
  std::vector<SlackConfig> slack_configs;
  std::vector<EmailConfig> email_configs;
  std::vector<PagerDutyConfig> pagerduty_configs;
  // User channels (a make_callback_notifier, or a Notifier of one's own). Shared so that the
  // config stays copyable; the dispatcher calls them from its delivery thread for this receiver.
  std::vector<std::shared_ptr<Notifier>> notifiers;
  int line = 0;
};

// Alertmanager's `global:` defaults that fit.
struct RoutingGlobals {
  // A firing alert submitted without an end (zero ends_at) ends this long after its last update
  // (the Dispatcher resolves it at the first flush after that unless it is sent again).
  std::chrono::milliseconds resolve_timeout{5 * 60'000};
  std::string smtp_smarthost, smtp_from, smtp_hello = "localhost", smtp_auth_username,
                                         smtp_auth_password;
  bool smtp_require_tls = true;
  std::string slack_api_url;
  std::string pagerduty_url = "https://events.pagerduty.com/v2/enqueue";
};

struct RoutingConfig {
  RoutingGlobals global;
  Route route;
  std::vector<ReceiverConfig> receivers;
  std::vector<InhibitRule> inhibit_rules;
  std::string source;  // the file it came from ("" when built in C++)
};

// Where an alert goes: one matching route with its options resolved (inheritance applied).
struct RouteMatch {
  std::string receiver;
  std::vector<std::string> group_by;  // sorted
  bool group_by_all = false;          // `...`
  std::chrono::milliseconds group_wait{30'000};
  std::chrono::milliseconds group_interval{5 * 60'000};
  std::chrono::milliseconds repeat_interval{4 * 60 * 60'000};
  // Alertmanager's route key (dispatch.Route.Key(): the matchers of each route from the root,
  // sorted, "{}/{severity=\"critical\"}"): the group key's prefix.
  std::string key;
  size_t index = 0;  // position of the route in a depth-first walk (0 = root)

  // The alert's group labels at this route (the group_by labels it has; all with `...`), sorted.
  LabelList group_labels(const LabelList& alert_labels) const;
  // Alertmanager's group key: key + ":" + "{a=\"x\", b=\"y\"}".
  std::string group_key(const LabelList& group_labels) const;
};

class Router {
 public:
  // Checks and compiles `config`: the root has a receiver and no matchers, every receiver named
  // exists, names are unique, regexes compile, durations are positive and at most 100 years
  // (group_wait and global.resolve_timeout may be 0). Throws vigil::Error
  // naming the route (by its path and line) and what is wrong.
  explicit Router(const RoutingConfig& config);
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // The routes `labels` (sorted by name) goes to, in tree order; never empty (the root at
  // least). Cost: the matchers evaluated, no allocation. Thread-safe.
  std::vector<const RouteMatch*> match(const LabelList& labels) const;
  // Every route, depth first (index order).
  const std::vector<RouteMatch>& routes() const noexcept;
  const RoutingConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Inhibition (inhibit/inhibit.go): a target alert is muted while a firing source alert with
// equal values of the rule's `equal` labels exists.
class Inhibitor {
 public:
  explicit Inhibitor(const std::vector<InhibitRule>& rules);  // throws vigil::Error (bad regex)
  ~Inhibitor();
  Inhibitor(Inhibitor&&) noexcept;
  Inhibitor& operator=(Inhibitor&&) noexcept;

  // Records the current state of an alert (firing or resolved) as a possible source.
  void update(const NotifiedAlert& alert);
  // Forgets resolved sources ended before `now`.
  void gc(TimePoint now);
  // Whether `labels` (sorted) is muted now, and by which rule (index), as Alertmanager decides.
  bool muted(const LabelList& labels, TimePoint now, size_t* rule_index = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The result of loading a routing file.
struct RoutingFileResult {
  std::optional<RoutingConfig> config;
  std::string error;                  // "path:line: route ... : what is wrong"
  std::vector<std::string> warnings;  // fields vigil accepts and ignores (e.g. time_intervals)
  explicit operator bool() const noexcept { return config.has_value(); }
};

// Reads an alertmanager.yml-style file: global (resolve_timeout, smtp_*, slack_api_url,
// pagerduty_url), route (receiver, matchers and the older match / match_re, continue, group_by,
// group_wait, group_interval, repeat_interval, routes), receivers (name, webhook_configs,
// slack_configs, email_configs, pagerduty_configs with their fields), inhibit_rules
// (source_matchers, target_matchers, equal, and the older source_match / target_match). Checks
// it as Router does. Never throws (except std::bad_alloc).
// Files larger than kMaxRoutingFileBytes are refused.
inline constexpr std::size_t kMaxRoutingFileBytes = 16u << 20;
RoutingFileResult load_routing_file(const std::string& path);
RoutingFileResult parse_routing_config(std::string_view yaml, std::string_view name = "<string>");

// Parses one Alertmanager matcher ("severity=\"critical\"", "env=~prod|staging", "a!=b");
// nullopt with the reason in *error when malformed. Never throws (except std::bad_alloc).
std::optional<LabelMatcher> parse_matcher(std::string_view text, std::string* error = nullptr);
// Parses a list as Alertmanager's `matchers:` lines and amtool take it ("{a=\"x\", b=~y}" or
// "a=x,b=y"); nullopt with the reason in *error when one is malformed.
std::optional<std::vector<LabelMatcher>> parse_matchers(std::string_view text,
                                                        std::string* error = nullptr);

}  // namespace vigil::alerting
