#include "guardrail.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <utility>
#include <vector>

#include "gateway_metrics.h"

namespace vigil::demo {
namespace {

using namespace std::chrono_literals;

std::string fmt(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
  return buf;
}

}  // namespace

DemoGuardrail::DemoGuardrail(metrics::Registry& registry, DemoGuardrailOptions options)
    : options_(std::move(options)) {
  const std::string stable(kVersions[kStableVersion]);
  const std::string release(kVersions[kReleaseVersion]);
  source_ = std::make_shared<guardrail::LiveSource>(
      guardrail::LiveSourceOptions{.registry = &registry,
                                   .requests = "agent_requests_total",
                                   .outcome_label = "status",
                                   .success_values = {"success"},
                                   .latency = "agent_request_duration_seconds",
                                   .cohort_label = "version"});
  guardrail::MonitorOptions mo;
  mo.name = kMonitorName;
  mo.source = source_;
  mo.cohort = release;
  mo.interval = options_.interval;
  // In cohort mode the Judge decides (JudgeOptions: the success rate's mSPRT, Mann-Whitney on
  // the latency); of the thresholds only the error rate's hard limit applies, to v2's last 30 s:
  // here a backstop for a release that fails half of its requests.
  mo.thresholds = guardrail::default_thresholds(-0.08, 0.30, 0.5);
  mo.window = 30s;
  // v2 has no traffic outside a release: "no verdict" is the normal state then, not a problem.
  mo.inconclusive_limit = 1'000'000;
  mo.cooldown = 60s;
  mo.alerts = options_.alerts;
  mo.audit_path = options_.state_path;
  mo.metrics_registry = &registry;
  monitor_ = std::make_unique<guardrail::GuardrailMonitor>(std::move(mo));
  monitor_->on_trigger("route-to-stable", [this, stable](const guardrail::RollbackTrigger& t) {
    share_.store(0, std::memory_order_relaxed);  // the simulator stops using v2 at once
    rolled_back_.store(true, std::memory_order_relaxed);
    print(prefix() + "GUARDRAIL ROLLBACK " + kMonitorName + ": " +
          std::string(kVersions[kReleaseVersion]) + " failed on " + t.metric_name + " (" +
          fmt(t.observed_value) + " against " + fmt(t.baseline_value) + " for " + stable +
          "): all traffic back to " + stable);
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  });
}

DemoGuardrail::~DemoGuardrail() { stop(); }

void DemoGuardrail::start() {
  // Until a release, v2 has no traffic: every check says so (no verdict).
  monitor_->compare_cohorts(std::string(kVersions[kStableVersion]),
                            std::string(kVersions[kReleaseVersion]), "demo start: no release yet");
  monitor_->start();
  timer_ = std::thread([this] { timer_loop(); });
}

void DemoGuardrail::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (monitor_) {
    monitor_->stop();
    monitor_->wait_for_actions(5s);
  }
}

void DemoGuardrail::timer_loop() {
  const std::string stable(kVersions[kStableVersion]);
  const std::string release(kVersions[kReleaseVersion]);
  bool released = !options_.bad_release_at_seconds.has_value();
  bool reported = false;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!released && options_.elapsed && options_.elapsed() >= *options_.bad_release_at_seconds) {
      released = true;
      lock.unlock();
      // The comparison starts with the release: v2's requests from now on against v1's.
      monitor_->compare_cohorts(
          stable, release,
          "release of " + release + " to " + percent(options_.release_share) + " of the traffic");
      share_.store(options_.release_share, std::memory_order_relaxed);
      print(prefix() + "RELEASE " + release + " takes " + percent(options_.release_share) +
            " of the traffic; guardrail " + kMonitorName + " judges it against " + stable +
            " every " + fmt(std::chrono::duration<double>(options_.interval).count()) + "s");
      lock.lock();
      continue;
    }
    if (rolled_back_.load(std::memory_order_relaxed) && !reported) {
      reported = true;
      lock.unlock();
      monitor_->wait_for_actions(2s);
      print_decision();
      // v2 is out of the traffic: the comparison starts again (no verdict until a new release).
      monitor_->compare_cohorts(stable, release,
                                "after the rollback: " + release + " has no traffic");
      lock.lock();
      continue;
    }
    cv_.wait_for(lock, 50ms);
  }
}

void DemoGuardrail::print_decision() {
  std::vector<guardrail::Decision> recent = monitor_->decisions({.limit = 50});
  for (const guardrail::Decision& d : recent) {
    if (!d.triggered) continue;
    std::string result(guardrail::result_name(d.result));
    for (char& ch : result) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::string out = prefix() + "GUARDRAIL " + result + " " + d.monitor + ", decision " +
                      std::to_string(d.id) + " (" + std::to_string(d.current_requests) +
                      " requests of " + std::string(kVersions[kReleaseVersion]) + " against " +
                      std::to_string(d.baseline_requests) + " of " +
                      std::string(kVersions[kStableVersion]) + "):";
    for (const guardrail::ConditionResult& c : d.conditions) {
      out += "\n    " + c.reason;  // "<metric> <result>: <figures and statistics>"
    }
    for (const guardrail::ActionOutcome& a : d.actions) {
      out += "\n    action " + a.action + ": " + a.outcome + " (" + fmt(a.duration_seconds * 1000) +
             " ms)";
    }
    print(out);
    return;
  }
}

std::string DemoGuardrail::description() const {
  std::string d = std::string(kMonitorName) + " judges " + std::string(kVersions[kReleaseVersion]) +
                  " against " + std::string(kVersions[kStableVersion]) + " every " +
                  fmt(std::chrono::duration<double>(options_.interval).count()) +
                  "s (--guardrail-interval); ";
  if (options_.bad_release_at_seconds) {
    d += "a bad release of " + std::string(kVersions[kReleaseVersion]) + " takes " +
         percent(options_.release_share) +
         " of the traffic at t=" + fmt(*options_.bad_release_at_seconds) + "s and is rolled back";
  } else {
    d += "no release (--bad-release-at SECONDS starts one)";
  }
  d += options_.state_path.empty() ? "; audit trail in memory"
                                   : "; audit trail in " + options_.state_path;
  return d;
}

void DemoGuardrail::print(const std::string& line) const {
  if (options_.print) {
    options_.print(line);
  } else {
    std::cout << line + "\n" << std::flush;
  }
}

std::string DemoGuardrail::prefix() const {
  char buf[48];
  std::snprintf(buf, sizeof buf, "vigil-demo: [t=%.0fs] ",
                options_.elapsed ? options_.elapsed() : 0.0);
  return buf;
}

}  // namespace vigil::demo
