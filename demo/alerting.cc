// demo/alerting.cc: see alerting.h.
#include "alerting.h"

#include <cstdio>
#include <iostream>
#include <string_view>

#include "demo_log.h"
#include "vigil/alerting/rule.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/alerting/slo.h"
#include "vigil/core/error.h"

namespace vigil::demo {

namespace {

using namespace std::chrono_literals;
using alerting::AlertRule;
using alerting::Severity;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

alerting::Slo demo_slo() {
  // 99% of agent requests succeed (errors and timeouts count against it; rate limiting is the
  // caller's quota), over 30 days, with the workbook's burn-rate alerts.
  return alerting::Slo::builder()
      .name("agent-requests")
      .outcome_label("agent_requests_total", "status", "error|timeout")
      .objective(0.99)
      .period(30 * 24h)
      .alert_names("AgentRequestsBudgetBurnPage", "AgentRequestsBudgetBurnTicket")
      .annotation("runbook", "docs/demo.md#alerts")
      .build();
}

std::string alert_line(const alerting::Alert& alert, double t_seconds) {
  const bool resolved = alert.state == alerting::AlertState::kResolved;
  char head[64];
  std::snprintf(head, sizeof head, "vigil-demo: [t=%.0fs] ALERT %s ", t_seconds,
                resolved ? "RESOLVED" : "FIRING  ");
  std::string line = head;
  line += alert.name;
  line += " [";
  line += alerting::to_string(alert.severity);
  line += "]";
  std::string labels;
  for (const auto& [k, v] : alert.labels) {
    if (k == "alertname" || k == "severity") continue;
    labels += labels.empty() ? "{" : ", ";
    labels += k + "=\"" + v + "\"";
  }
  if (!labels.empty()) line += " " + labels + "}";
  if (resolved) {
    const double seconds =
        std::chrono::duration<double>(alert.resolved_at - alert.active_at).count();
    line += " after " + number(seconds) + "s";
  } else {
    const std::string_view summary = [&]() -> std::string_view {
      for (const auto& [k, v] : alert.annotations) {
        if (k == "summary") return v;
      }
      return {};
    }();
    if (!summary.empty()) line += ": " + std::string(summary);
    line += " (value " + number(alert.value) + ")";
  }
  return line;
}

DemoAlerting::DemoAlerting(metrics::Registry& registry, const Dependencies& dependencies,
                           DemoAlertingOptions options)
    : options_(std::move(options)) {
  alerting::AlertManagerOptions mo;
  mo.evaluation_interval = options_.eval_interval;
  mo.registry = &registry;
  mo.self_metrics = &registry;
  mo.state_path = options_.state_path;
  manager_ = std::make_unique<alerting::AlertManager>(mo);

  // Prometheus rule files, loaded as Prometheus would (a bad file is an error naming it).
  for (const std::string& path : options_.rule_files) {
    const alerting::RuleFileResult r = alerting::load_rule_file(path);
    if (!r) {
      std::string msg = "cannot load rule file " + path;
      for (const std::string& e : r.errors) msg += "\n  " + e;
      throw Error(msg);
    }
    manager_->add_rule_file(*r.file);
  }

  // C++ rules (group "agent-gateway-cpp"). Thresholds sit above what the simulation does in
  // normal operation (about 3% failed requests, p95 about 14 s, $4k-8k of LLM spend an hour).
  alerting::RuleGroup cpp;
  cpp.name = "agent-gateway-cpp";
  cpp.rules.push_back(
      AlertRule::builder()
          .name("AgentHighErrorRate")
          .expr("sum(rate(agent_requests_total{status!=\"success\"}[1m])) / "
                "sum(rate(agent_requests_total[1m])) > 0.05")
          .for_duration(30s)
          .severity(Severity::kWarning)
          .annotation("summary", "More than 5% of agent requests failed over the last minute")
          .annotation("description",
                      "{{ $value | humanizePercentage }} of agent requests were not successful "
                      "(error, timeout or rate limited) over the last minute.")
          .build());
  cpp.rules.push_back(AlertRule::builder()
                          .name("AgentSlowP95")
                          .expr("histogram_quantile(0.95, sum by (le) "
                                "(rate(agent_request_duration_seconds_bucket[1m]))) > 25")
                          .for_duration(1min)
                          .severity(Severity::kWarning)
                          .annotation("summary", "p95 agent request latency above 25s")
                          .annotation("description",
                                      "The 95th percentile of agent request latency is {{ $value | "
                                      "humanizeDuration }} over the last minute.")
                          .build());
  cpp.rules.push_back(
      AlertRule::builder()
          .name("LLMCostPerHourHigh")
          .expr("sum(rate(gen_ai_client_cost_dollars_total[1m])) * 3600 > 10000")
          .for_duration(1min)
          .severity(Severity::kWarning)
          .annotation("summary", "LLM spend above $10000 an hour")
          .annotation("description",
                      "LLM spend is running at ${{ $value | printf \"%.0f\" }} an hour.")
          .build());
  // The outage: a C++ condition on the dependency's state, confirmed at the next evaluation.
  const Dependencies* deps = &dependencies;
  cpp.rules.push_back(AlertRule::builder()
                          .name("VectorStoreOutage")
                          .condition([deps] { return !deps->vector_store_up(); })
                          .for_duration(options_.eval_interval)
                          .severity(Severity::kCritical)
                          .labels({{"dependency", "vector_store"}})
                          .annotation("summary",
                                      "The vector store is down: semantic search fails, "
                                      "/health/ready answers 503")
                          .build());
  manager_->add_group(std::move(cpp));

  alerting::add_slo(*manager_, demo_slo());

  manager_->on_alert([this](const alerting::Notification& n) { on_notification(n); });
}

DemoAlerting::~DemoAlerting() { stop(); }

size_t DemoAlerting::rule_count() const { return manager_->rules().size(); }

void DemoAlerting::start() { manager_->start(); }
void DemoAlerting::stop() { manager_->stop(); }

void DemoAlerting::on_notification(const alerting::Notification& n) {
  const double t = options_.elapsed ? options_.elapsed() : 0.0;
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mu_);
    for (const alerting::Alert& a : n.alerts) {
      auto [it, inserted] = printed_.emplace(a.fingerprint, a.state);
      if (!inserted && it->second == a.state) continue;  // a resend: printed already
      it->second = a.state;
      lines.push_back(alert_line(a, t));
      // Firing critical alerts at error, other firing alerts at warn, resolutions at info.
      // (Worded unlike the console line, which scripts look for.)
      const std::string_view severity = alerting::to_string(a.severity);
      if (a.state == alerting::AlertState::kResolved) {
        DEMO_LOG(info, "alert {} ({}) resolved", a.name, severity);
      } else if (a.severity == alerting::Severity::kCritical) {
        DEMO_LOG(error, "alert {} ({}) firing", a.name, severity);
      } else {
        DEMO_LOG(warn, "alert {} ({}) firing", a.name, severity);
      }
    }
  }
  for (const std::string& line : lines) {
    if (options_.print) {
      options_.print(line);
    } else {
      std::cout << line << "\n" << std::flush;
    }
  }
}

}  // namespace vigil::demo
