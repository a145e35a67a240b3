// AlertmanagerClient: the rule engine's alerts POSTed to Alertmanager's /api/v2/alerts, as
// Prometheus' notifier does. One queue of alerts (a log with a sequence number per alert); each
// instance has a sender thread and a cursor into the log; an alert leaves the log when every
// cursor has passed it; a full log drops its oldest alert (and moves the cursors that had not
// taken it past it).
#include "vigil/alerting/alertmanager_client.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/detail/http_sender.h"
#include "core/detail/json_writer.h"
#include "core/detail/rfc3339.h"
#include "core/detail/text.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using SteadyClock = std::chrono::steady_clock;

// RFC 3339 in UTC with milliseconds, as go-openapi's strfmt.DateTime (Prometheus' notifier)
// writes it: 2026-01-02T03:04:05.678Z.
std::string rfc3339_millis(TimePoint t) { return vigil::detail::format_rfc3339(t, true); }

void write_label_set(detail::JsonWriter& w, const LabelList& list) {
  w.open_object();
  for (const auto& [name, value] : list) {
    w.escaped_key(name);
    w.string(value);
  }
  w.close_object();
}

// An instance's base URL checked: http(s), a host. Returns the URL with its userinfo removed
// (for status and metrics) and the /api/v2/alerts URL to send to (userinfo kept: libcurl sends
// it as basic auth).
struct InstanceUrl {
  std::string send;
  std::string shown;
};

InstanceUrl parse_instance_url(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const std::string_view scheme = scheme_end == std::string::npos
                                      ? std::string_view()
                                      : std::string_view(url).substr(0, scheme_end);
  const size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const size_t host_end = std::min(url.find_first_of("/?#", start), url.size());
  const size_t at = url.rfind('@', host_end == 0 ? 0 : host_end - 1);
  const size_t host_start = (at != std::string::npos && at >= start) ? at + 1 : start;
  std::string shown_base =
      url.substr(0, start) + url.substr(host_start, std::string::npos);  // no userinfo
  if (!detail::iequals(scheme, "http") && !detail::iequals(scheme, "https")) {
    throw Error("AlertmanagerClient: URL \"" + shown_base +
                "\" must start with http:// or https://");
  }
  if (host_start >= host_end) {
    throw Error("AlertmanagerClient: URL \"" + shown_base + "\" has no host");
  }
  if (url.find_first_of("?#", start) != std::string::npos) {
    throw Error("AlertmanagerClient: URL \"" + shown_base +
                "\" must be a base URL without a query or fragment");
  }
  std::string send = url;
  while (!send.empty() && send.back() == '/') send.pop_back();
  while (!shown_base.empty() && shown_base.back() == '/') shown_base.pop_back();
  return {send + "/api/v2/alerts", shown_base + "/api/v2/alerts"};
}

}  // namespace

std::string alertmanager_payload(const std::vector<NotifiedAlert>& alerts) {
  std::string out;
  detail::JsonWriter w(out);
  w.open_array();
  for (const NotifiedAlert& a : alerts) {
    w.element();
    w.open_object();
    w.key("labels");
    write_label_set(w, a.labels);
    w.key("annotations");
    write_label_set(w, a.annotations);
    if (a.starts_at != TimePoint{}) w.string_member("startsAt", rfc3339_millis(a.starts_at));
    if (a.ends_at != TimePoint{}) w.string_member("endsAt", rfc3339_millis(a.ends_at));
    if (!a.generator_url.empty()) w.string_member("generatorURL", a.generator_url);
    w.close_object();
  }
  w.close_array();
  return out;
}

struct AlertmanagerClient::Impl {
  struct Instance {
    std::unique_ptr<detail::HttpSender> sender;
    uint64_t cursor = 0;  // sequence number of the next alert to take
    bool in_flight = false;
    AlertmanagerStatus status;
    std::optional<metrics::Counter> sent_metric;
    std::optional<metrics::Counter> errors_metric;
    std::optional<metrics::Summary> latency_metric;
    std::thread thread;
  };

  AlertmanagerClientOptions options;

  mutable std::mutex mu;
  std::condition_variable work_cv;  // senders wait for alerts (or stopping)
  std::condition_variable idle_cv;  // flush() and shutdown() wait for the queue to empty
  std::deque<NotifiedAlert> log;
  uint64_t base = 0;  // sequence number of log.front()
  std::vector<std::unique_ptr<Instance>> instances;
  uint64_t dropped = 0;
  bool closed = false;    // shutdown began: submit() drops
  bool stopping = false;  // senders exit

  std::mutex shutdown_mu;  // one shutdown at a time
  bool joined = false;

  std::optional<metrics::Counter> dropped_metric;
  std::optional<metrics::Gauge> queue_length_metric;

  explicit Impl(AlertmanagerClientOptions o) : options(std::move(o)) {
    if (options.urls.empty()) throw Error("AlertmanagerClient: urls must name at least one");
    if (options.queue_capacity == 0)
      throw Error("AlertmanagerClient: queue_capacity must be greater than 0");
    if (options.max_batch == 0) throw Error("AlertmanagerClient: max_batch must be greater than 0");
    if (options.http.timeout.count() <= 0)
      throw Error("AlertmanagerClient: http.timeout must be greater than 0");
    for (const std::string& url : options.urls) {
      const InstanceUrl parsed = parse_instance_url(url);
      detail::HttpConfig config;
      config.url = parsed.send;
      config.content_type = "application/json";
      config.headers = options.http.headers;
      if (!options.http.bearer_token.empty())
        config.headers.emplace_back("Authorization", "Bearer " + options.http.bearer_token);
      config.basic_auth_username = options.http.basic_auth_username;
      config.basic_auth_password = options.http.basic_auth_password;
      config.certificate_file = options.http.ca_file;
      config.verify_tls = options.http.verify_tls;
      config.max_response_bytes = 4096;  // kept for error messages
      auto inst = std::make_unique<Instance>();
      inst->sender = std::make_unique<detail::HttpSender>(std::move(config));
      inst->status.url = parsed.shown;
      instances.push_back(std::move(inst));
    }
    init_metrics();
  }

  void init_metrics() {
    metrics::Registry* r = options.self_metrics;
    if (r == nullptr) return;
    auto& sent =
        r->counter("vigil_alertmanager_notifications_total",
                   "Alerts sent to Alertmanager (whatever the outcome).", {"alertmanager"});
    auto& errors = r->counter("vigil_alertmanager_notifications_errors_total",
                              "Alerts in POSTs to Alertmanager that failed.", {"alertmanager"});
    auto& latency = r->summary("vigil_alertmanager_notification_latency_seconds",
                               "How long POSTs to Alertmanager took.", {"alertmanager"},
                               metrics::SummaryOptions{.quantiles = {0.5, 0.9, 0.99}});
    for (auto& inst : instances) {
      inst->sent_metric = sent.labels(inst->status.url);
      inst->errors_metric = errors.labels(inst->status.url);
      inst->latency_metric = latency.labels(inst->status.url);
    }
    dropped_metric = r->counter("vigil_alertmanager_notifications_dropped_total",
                                "Alerts dropped before every Alertmanager had taken them (queue "
                                "full, or shutdown).")
                         .get();
    queue_length_metric = r->gauge("vigil_alertmanager_notifications_queue_length",
                                   "Alerts waiting to be sent to Alertmanager.")
                              .get();
    r->gauge("vigil_alertmanager_notifications_queue_capacity",
             "The capacity of the Alertmanager alert queue.")
        .get()
        .set(static_cast<double>(options.queue_capacity));
    r->gauge("vigil_alertmanager_discovered_alertmanagers",
             "The number of Alertmanagers alerts are sent to.")
        .get()
        .set(static_cast<double>(instances.size()));
  }

  void start() {
    for (auto& inst : instances) {
      Instance* p = inst.get();
      p->thread = std::thread([this, p] { run(*p); });
    }
  }

  uint64_t end_seq() const { return base + log.size(); }

  void count_dropped_locked(uint64_t n) {
    dropped += n;
    if (dropped_metric) dropped_metric->inc(static_cast<double>(n));
  }

  void update_length_locked() {
    if (queue_length_metric) queue_length_metric->set(static_cast<double>(log.size()));
  }

  // Removes the alerts every instance has taken.
  void trim_locked() {
    uint64_t min_cursor = end_seq();
    for (const auto& inst : instances) min_cursor = std::min(min_cursor, inst->cursor);
    while (base < min_cursor) {
      log.pop_front();
      ++base;
    }
    update_length_locked();
  }

  bool idle_locked() const {
    if (!log.empty()) return false;
    return std::none_of(instances.begin(), instances.end(),
                        [](const auto& inst) { return inst->in_flight; });
  }

  void submit(const Notification& n) {
    if (n.alerts.empty()) return;
    std::vector<NotifiedAlert> alerts;
    alerts.reserve(n.alerts.size());
    for (const Alert& a : n.alerts) alerts.push_back(to_notified(a, options.generator_url));
    {
      std::lock_guard lock(mu);
      if (closed) {
        count_dropped_locked(alerts.size());
        return;
      }
      for (auto& a : alerts) log.push_back(std::move(a));
      uint64_t lost = 0;
      while (log.size() > options.queue_capacity) {
        // After trim_locked() some instance has not taken the front alert: it misses it.
        for (auto& inst : instances) {
          if (inst->cursor <= base) {
            inst->cursor = base + 1;
            ++inst->status.dropped;
          }
        }
        log.pop_front();
        ++base;
        ++lost;
      }
      if (lost > 0) count_dropped_locked(lost);
      update_length_locked();
    }
    work_cv.notify_all();
  }

  void run(Instance& inst) {
    std::unique_lock lock(mu);
    while (true) {
      work_cv.wait(lock, [&] { return stopping || inst.cursor < end_seq(); });
      if (stopping) return;
      const size_t offset = static_cast<size_t>(inst.cursor - base);
      const size_t n = std::min(options.max_batch, log.size() - offset);
      std::vector<NotifiedAlert> batch(log.begin() + static_cast<std::ptrdiff_t>(offset),
                                       log.begin() + static_cast<std::ptrdiff_t>(offset + n));
      inst.cursor += n;
      inst.in_flight = true;
      trim_locked();
      lock.unlock();

      const std::string body = alertmanager_payload(batch);
      const auto began = SteadyClock::now();
      const detail::HttpResult r = inst.sender->post(body, began + options.http.timeout);
      const double seconds = std::chrono::duration<double>(SteadyClock::now() - began).count();
      const bool ok = r.status >= 200 && r.status < 300;
      std::string error;
      if (!ok) {
        if (r.aborted) {
          error = "aborted at shutdown";
        } else if (r.timed_out) {
          error = "timeout after " + std::to_string(options.http.timeout.count()) + " ms";
        } else if (r.status != 0) {
          error = "HTTP " + std::to_string(r.status);
          const std::string_view text = detail::trim_line(r.body);
          if (!text.empty()) error += ": " + std::string(text.substr(0, 200));
        } else {
          error = r.error.empty() ? "no response" : r.error;
        }
      }

      lock.lock();
      ++inst.status.requests;
      if (ok) {
        inst.status.sent += n;
        inst.status.last_success = std::chrono::system_clock::now();
      } else {
        inst.status.errors += n;
        inst.status.last_error = std::move(error);
      }
      if (inst.sent_metric) inst.sent_metric->inc(static_cast<double>(n));
      if (!ok && inst.errors_metric) inst.errors_metric->inc(static_cast<double>(n));
      if (inst.latency_metric) inst.latency_metric->observe(seconds);
      inst.in_flight = false;
      idle_cv.notify_all();
    }
  }

  bool flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return idle_cv.wait_for(lock, timeout, [&] { return idle_locked(); });
  }

  void shutdown(std::chrono::milliseconds deadline) {
    std::lock_guard guard(shutdown_mu);
    if (joined) return;
    const auto until = SteadyClock::now() + deadline;
    {
      std::unique_lock lock(mu);
      closed = true;
      idle_cv.wait_until(lock, until, [&] { return idle_locked(); });
      stopping = true;
      // What some instance has not taken is dropped.
      const uint64_t end = end_seq();
      for (auto& inst : instances) {
        inst->status.dropped += end - inst->cursor;
        inst->cursor = end;
      }
      count_dropped_locked(log.size());
      log.clear();
      base = end;
      update_length_locked();
    }
    work_cv.notify_all();
    idle_cv.notify_all();
    for (auto& inst : instances) inst->sender->abort();
    for (auto& inst : instances) {
      if (inst->thread.joinable()) inst->thread.join();
    }
    joined = true;
  }
};

AlertmanagerClient::AlertmanagerClient(AlertmanagerClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {
  try {
    impl_->start();
  } catch (...) {  // a thread could not be started: end the ones that were
    impl_->shutdown(std::chrono::milliseconds(0));
    throw;
  }
}

AlertmanagerClient::~AlertmanagerClient() { impl_->shutdown(std::chrono::seconds(5)); }

int AlertmanagerClient::attach(AlertManager& manager) {
  std::weak_ptr<Impl> weak = impl_;
  return manager.on_alert([weak](const Notification& n) {
    if (auto impl = weak.lock()) impl->submit(n);
  });
}

void AlertmanagerClient::detach(AlertManager& manager, int id) { manager.remove_callback(id); }

void AlertmanagerClient::submit(const Notification& notification) { impl_->submit(notification); }

bool AlertmanagerClient::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }

void AlertmanagerClient::shutdown(std::chrono::milliseconds deadline) { impl_->shutdown(deadline); }

std::vector<AlertmanagerStatus> AlertmanagerClient::status() const {
  std::lock_guard lock(impl_->mu);
  std::vector<AlertmanagerStatus> out;
  out.reserve(impl_->instances.size());
  for (const auto& inst : impl_->instances) out.push_back(inst->status);
  return out;
}

size_t AlertmanagerClient::queued() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log.size();
}

uint64_t AlertmanagerClient::dropped() const {
  std::lock_guard lock(impl_->mu);
  return impl_->dropped;
}

}  // namespace vigil::alerting
