// The Dispatcher (vigil/alerting/dispatcher.h): Alertmanager's dispatch/dispatch.go and
// notify/notify.go in process. submit() only updates the alert store and the aggregation groups
// under a short lock; tick() (the timer thread, or a test with an injected clock) flushes the
// groups that are due, decides per integration with the dedup state, writes the notifications to
// the log as pending and queues them; a thread per receiver delivers, retries and confirms.
//
// Difference from Alertmanager: a Notification that names channels (the rule's notification
// channels) bypasses the route tree and goes straight to the receivers of those names, with the
// root route's timing options and grouped by alertname; its group key is
// "{}/channel:<receiver>:{alertname=...}". Unknown names are counted (unknown_channels).
#include "vigil/alerting/dispatcher.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "alerting/notify/aggregation_group.h"
#include "alerting/notify/delivery_queue.h"
#include "alerting/notify/notification_log.h"
#include "core/detail/http_sender.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {

namespace {

using dispatch::AggregationGroup;
using dispatch::DedupState;
using dispatch::DeliveredSets;
using dispatch::LogEntry;
using SteadyClock = std::chrono::steady_clock;

// One notification for one integration of a receiver.
struct Job {
  uint64_t seq = 0;
  int64_t log_id = 0;
  int integration = 0;
  std::string dedup_key;
  NotificationGroup group;
  std::vector<uint64_t> firing, resolved;  // sorted: the dedup state once delivered
  TimePoint created;                       // the flush time
  std::optional<DeliveredSets> previous;   // the dedup state before this job (restored on failure)
  SteadyClock::time_point queued_at;
};

struct Integration {
  std::shared_ptr<Notifier> notifier;
  // Its name and index among the receiver's integrations of that name ("webhook/0"): the key of
  // its dedup state and log entries (stable when integrations of other types are added).
  std::string key;
  IntegrationStatus status;  // Receiver::stats_mu
  metrics::Counter sent_metric, failed_metric, retries_metric, dropped_queue_metric,
      dropped_shutdown_metric;
  metrics::Histogram latency_metric;
};

struct Receiver {
  explicit Receiver(size_t capacity) : queue(capacity) {}
  std::string name;
  std::vector<Integration> integrations;
  dispatch::DeliveryQueue<Job> queue;
  std::thread thread;
  mutable std::mutex stats_mu;
};

std::string dedup_key_of(const std::string& receiver, const std::string& integration,
                         const std::string& group_key) {
  std::string k = receiver;
  k += '\x1f';
  k += integration;
  k += '\x1f';
  k += group_key;
  return k;
}

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

}  // namespace

struct Dispatcher::Impl {
  explicit Impl(DispatcherOptions o)
      : options(std::move(o)), router(options.routing), inhibitor(options.routing.inhibit_rules) {}

  const DispatcherOptions options;
  Router router;
  Inhibitor inhibitor;
  std::vector<std::unique_ptr<Receiver>> receivers;
  std::unordered_map<std::string, size_t> receiver_index;
  // Routes for Notification::channels: the root's options, grouped by alertname.
  std::unordered_map<std::string, std::unique_ptr<RouteMatch>> channel_routes;
  dispatch::NotificationLog log;

  // ---- the alert store, groups and dedup state (mu) ----
  // The alerts held (by fingerprint): how many aggregation groups hold each (they hold the
  // alert itself).
  mutable std::mutex mu;
  std::unordered_map<uint64_t, int> alerts;
  std::map<std::string, std::unique_ptr<AggregationGroup>> groups;  // receiver "\n" group key
  struct Dedup {
    DeliveredSets sets;
    uint64_t seq = 0;  // the job that set it optimistically (0: delivered / restored)
  };
  std::unordered_map<std::string, Dedup> dedup;
  uint64_t next_seq = 1;
  uint64_t alerts_dropped = 0;
  uint64_t inhibited = 0;
  uint64_t unknown_channels = 0;
  std::string last_unknown_channel;
  TimePoint last_expire;
  std::mutex tick_mu;  // one tick at a time (taken before mu)
  TimePoint next_due;  // the earliest next_flush (timer thread)

  std::atomic<uint64_t> redelivered{0};

  // ---- outstanding jobs (queued or in flight) ----
  std::mutex idle_mu;
  std::condition_variable idle_cv;
  size_t outstanding = 0;

  // ---- threads ----
  std::mutex run_mu;  // start / shutdown
  bool started = false;
  bool shut_down = false;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> abandoned_in_flight{0};
  std::thread timer;
  std::mutex timer_mu;
  std::condition_variable timer_cv;
  bool timer_stop = false;
  bool timer_wake = false;  // a new group: its flush may be earlier than the timer's wait

  // metrics
  metrics::Family<metrics::Counter>* m_sent = nullptr;

  TimePoint now() const {
    return options.clock ? options.clock() : std::chrono::system_clock::now();
  }

  void build_receivers() {
    const RoutingConfig& cfg = options.routing;
    metrics::Registry* reg = options.self_metrics;
    metrics::Family<metrics::Counter>* sent = nullptr;
    metrics::Family<metrics::Counter>* failed = nullptr;
    metrics::Family<metrics::Counter>* retries = nullptr;
    metrics::Family<metrics::Counter>* dropped = nullptr;
    metrics::Family<metrics::Histogram>* latency = nullptr;
    if (reg != nullptr) {
      sent = &reg->counter("vigil_notifications_total", "Notifications delivered.",
                           {"receiver", "integration"});
      failed = &reg->counter("vigil_notifications_failed_total",
                             "Notifications given up (refused, out of attempts or time).",
                             {"receiver", "integration"});
      retries = &reg->counter("vigil_notification_retries_total",
                              "Delivery attempts after the first.", {"receiver", "integration"});
      dropped = &reg->counter("vigil_notifications_dropped_total",
                              "Notifications dropped (queue full, shutdown).",
                              {"receiver", "integration", "reason"});
      latency = &reg->histogram(
          "vigil_notification_latency_seconds",
          "Time from a notification being queued to its delivery, retries included.",
          {"receiver", "integration"});
    }
    for (const ReceiverConfig& rc : cfg.receivers) {
      auto r = std::make_unique<Receiver>(options.queue_capacity);
      r->name = rc.name;
      std::vector<std::shared_ptr<Notifier>> ns;
      for (const auto& c : rc.webhook_configs) ns.emplace_back(make_webhook_notifier(c));
      for (const auto& c : rc.slack_configs) ns.emplace_back(make_slack_notifier(c));
      for (const auto& c : rc.email_configs) ns.emplace_back(make_email_notifier(c));
      for (const auto& c : rc.pagerduty_configs) ns.emplace_back(make_pagerduty_notifier(c));
      for (const auto& n : rc.notifiers) {
        if (!n) throw Error("dispatcher: receiver \"" + rc.name + "\": a notifier is null");
        ns.push_back(n);
      }
      std::unordered_map<std::string, int> per_name;
      for (size_t i = 0; i < ns.size(); ++i) {
        Integration in;
        in.notifier = ns[i];
        in.status.integration = std::string(ns[i]->integration());
        in.status.index = static_cast<int>(i);
        in.key = in.status.integration + "/" + std::to_string(per_name[in.status.integration]++);
        if (reg != nullptr) {
          const std::string& nm = in.status.integration;
          in.sent_metric = sent->labels(rc.name, nm);
          in.failed_metric = failed->labels(rc.name, nm);
          in.retries_metric = retries->labels(rc.name, nm);
          in.dropped_queue_metric = dropped->labels(rc.name, nm, "queue_full");
          in.dropped_shutdown_metric = dropped->labels(rc.name, nm, "shutdown");
          in.latency_metric = latency->labels(rc.name, nm);
        }
        r->integrations.push_back(std::move(in));
      }
      receiver_index[rc.name] = receivers.size();
      auto cr = std::make_unique<RouteMatch>(router.routes().front());
      cr->receiver = rc.name;
      cr->group_by = {"alertname"};
      cr->group_by_all = false;
      cr->key = "{}/channel:" + rc.name;
      channel_routes[rc.name] = std::move(cr);
      receivers.push_back(std::move(r));
    }
  }

  // Opens the log, restores the dedup state and re-queues unconfirmed notifications.
  void open_log() {
    if (options.state_path.empty()) return;
    if (!log.open(options.state_path)) return;
    const TimePoint t = now();
    const TimePoint since = t - options.log_retention;
    log.expire(since);
    last_expire = t;
    std::lock_guard lock(mu);
    for (DedupState& s : log.states(since)) {
      dedup[dedup_key_of(s.receiver, s.integration, s.group_key)] =
          Dedup{DeliveredSets{std::move(s.firing), std::move(s.resolved), s.at}, 0};
    }
    for (LogEntry& e : log.pending(since)) {
      auto it = receiver_index.find(e.receiver);
      int position = -1;
      if (it != receiver_index.end()) {
        const auto& ins = receivers[it->second]->integrations;
        for (size_t i = 0; i < ins.size(); ++i) {
          if (ins[i].key == e.integration) position = static_cast<int>(i);
        }
      }
      if (position < 0) {
        log.mark_given_up(e.id);  // the configuration changed: nowhere to send it
        continue;
      }
      auto job = std::make_shared<Job>();
      job->seq = next_seq++;
      job->log_id = e.id;
      job->integration = position;
      job->dedup_key = dedup_key_of(e.receiver, e.integration, e.group.group_key);
      job->firing = std::move(e.firing);
      job->resolved = std::move(e.resolved);
      job->created = e.created;
      job->group = std::move(e.group);
      job->queued_at = SteadyClock::now();
      // The restarted process must not notify this group again while the entry is on its way.
      auto d = dedup.find(job->dedup_key);
      if (d == dedup.end() || d->second.sets.at <= job->created) {
        if (d != dedup.end()) job->previous = d->second.sets;
        dedup[job->dedup_key] =
            Dedup{DeliveredSets{job->firing, job->resolved, job->created}, job->seq};
      }
      receivers[it->second]->queue.push_unbounded(job);
      {
        std::lock_guard il(idle_mu);
        ++outstanding;
      }
      ++redelivered;
    }
  }

  // ---- submit ----

  struct Placement {
    const RouteMatch* route;
    size_t receiver;
    LabelList labels;
    std::string key;      // the group key
    std::string map_key;  // receiver "\n" group key: the groups map's key
  };

  void submit(const Notification& n) {
    if (n.alerts.empty() && n.silenced.empty()) return;
    // Conversion and routing outside the lock (the router is immutable).
    std::vector<std::pair<NotifiedAlert, std::vector<Placement>>> work;
    work.reserve(n.alerts.size());
    std::vector<std::string> unknown;
    std::vector<const RouteMatch*> channel_matches;
    if (!n.channels.empty()) {
      for (const std::string& c : n.channels) {
        auto it = channel_routes.find(c);
        if (it == channel_routes.end()) {
          unknown.push_back(c);
        } else if (std::find(channel_matches.begin(), channel_matches.end(), it->second.get()) ==
                   channel_matches.end()) {
          channel_matches.push_back(it->second.get());
        }
      }
    }
    const TimePoint t = now();
    // Silenced alerts (Notification::silenced) are stored and inhibit like the others, and are
    // muted at flush.
    std::vector<const Alert*> incoming;
    incoming.reserve(n.alerts.size() + n.silenced.size());
    for (const Alert& a : n.alerts) incoming.push_back(&a);
    for (const Alert& a : n.silenced) incoming.push_back(&a);
    for (const Alert* ap : incoming) {
      const Alert& a = *ap;
      NotifiedAlert na = to_notified(a);
      // Alertmanager's resolve_timeout: a firing alert without an end is taken to end
      // resolve_timeout after its last update (then resolved at a flush unless sent again).
      if (!na.resolved && na.ends_at == TimePoint{}) {
        na.ends_at = t + options.routing.global.resolve_timeout;
      }
      inhibitor.update(na);
      std::vector<Placement> places;
      const std::vector<const RouteMatch*> matches =
          n.channels.empty() ? router.match(na.labels) : channel_matches;
      for (const RouteMatch* m : matches) {
        auto ri = receiver_index.find(m->receiver);
        if (ri == receiver_index.end()) continue;
        LabelList gl = m->group_labels(na.labels);
        std::string key = m->group_key(gl);
        std::string map_key = m->receiver + '\n' + key;
        places.push_back(
            Placement{m, ri->second, std::move(gl), std::move(key), std::move(map_key)});
      }
      work.emplace_back(std::move(na), std::move(places));
    }
    bool new_group = false;
    std::lock_guard lock(mu);
    unknown_channels += unknown.size();
    if (!unknown.empty()) last_unknown_channel = unknown.back();
    for (auto& [na, places] : work) {
      auto stored = alerts.find(na.fingerprint);
      if (stored == alerts.end()) {
        if (alerts.size() >= options.max_alerts) {
          ++alerts_dropped;
          continue;
        }
        stored = alerts.emplace(na.fingerprint, 0).first;
      }
      for (size_t pi = 0; pi < places.size(); ++pi) {
        Placement& p = places[pi];
        auto g = groups.find(p.map_key);
        if (g == groups.end()) {
          auto ng = std::make_unique<AggregationGroup>();
          ng->route = p.route;
          ng->receiver = p.receiver;
          ng->key = std::move(p.key);
          ng->labels = std::move(p.labels);
          ng->next_flush = t + p.route->group_wait;
          if (next_due == TimePoint{} || ng->next_flush < next_due) next_due = ng->next_flush;
          g = groups.emplace(std::move(p.map_key), std::move(ng)).first;
          new_group = true;
        }
        const uint64_t fp = na.fingerprint;
        const bool inserted = pi + 1 == places.size()
                                  ? g->second->alerts.insert_or_assign(fp, std::move(na)).second
                                  : g->second->alerts.insert_or_assign(fp, na).second;
        if (inserted) ++stored->second;
      }
      if (stored->second == 0) alerts.erase(stored);
    }
    if (new_group && options.run_timer_thread) {
      {
        std::lock_guard tl(timer_mu);
        timer_wake = true;
      }
      timer_cv.notify_all();
    }
  }

  // ---- flushes ----

  struct FlushOutput {
    std::vector<std::pair<size_t, std::shared_ptr<Job>>> jobs;  // receiver, job
    std::vector<DedupState> states;  // recorded without a send (send_resolved off)
  };

  void release_alert(uint64_t fp) {
    auto it = alerts.find(fp);
    if (it != alerts.end() && --it->second <= 0) alerts.erase(it);
  }

  // mu held.
  void flush_group(AggregationGroup& g, TimePoint t, FlushOutput& out) {
    Receiver& r = *receivers[g.receiver];
    std::vector<const NotifiedAlert*> kept;
    std::vector<uint64_t> firing, resolved, muted;
    for (auto& [fp, a] : g.alerts) {
      if (!a.resolved && a.ends_at != TimePoint{} && a.ends_at <= t) {
        a.resolved = true;  // the engine stopped sending it
      }
      if (a.silenced) {  // muted by a silence in the engine
        muted.push_back(fp);
        continue;
      }
      if (inhibitor.muted(a.labels, t)) {
        ++inhibited;
        muted.push_back(fp);
        continue;
      }
      kept.push_back(&a);
      (a.resolved ? resolved : firing).push_back(fp);
    }
    // std::map iteration: already sorted by fingerprint. When every alert is muted (silenced or
    // inhibited) nothing goes further, as Alertmanager's pipeline stops at an empty list: no
    // empty notification, and the log keeps what the receiver was last told.
    std::vector<bool> job_made(r.integrations.size(), false);
    for (size_t i = 0; !kept.empty() && i < r.integrations.size(); ++i) {
      const Integration& in = r.integrations[i];
      const bool send_resolved = in.notifier->send_resolved();
      std::string dk = dedup_key_of(r.name, in.key, g.key);
      auto d = dedup.find(dk);
      std::optional<DeliveredSets> last;
      if (d != dedup.end()) last = d->second.sets;
      if (!dispatch::needs_update(last, firing, resolved, send_resolved, t,
                                  g.route->repeat_interval)) {
        continue;
      }
      if (!send_resolved && firing.empty()) {
        // Nothing to send, but the log forgets the firing set (notify.go does the same).
        DeliveredSets sets{firing, resolved, t};
        dedup[dk] = Dedup{sets, 0};
        out.states.push_back(DedupState{r.name, in.key, g.key, firing, resolved, t});
        continue;
      }
      auto job = std::make_shared<Job>();
      job->seq = next_seq++;
      job->integration = static_cast<int>(i);
      job->dedup_key = dk;
      job->firing = firing;
      job->resolved = resolved;
      job->created = t;
      job->previous = last;
      NotificationGroup& ng = job->group;
      ng.receiver = r.name;
      ng.group_key = g.key;
      ng.group_labels = g.labels;
      ng.external_url = options.external_url;
      for (const NotifiedAlert* a : kept) {
        if (a->resolved && !send_resolved) continue;
        ng.alerts.push_back(*a);
      }
      dispatch::sort_alerts(ng.alerts);
      ng.compute_common();
      dedup[dk] = Dedup{DeliveredSets{firing, resolved, t}, job->seq};
      job_made[i] = true;
      out.jobs.emplace_back(g.receiver, std::move(job));
    }
    // A resolved alert leaves the group once nothing is left to tell about it: muted, or every
    // integration that sends resolved has nothing on its way (no job now, no unconfirmed one).
    // One that is being notified stays until its delivery is confirmed (delivered() removes it
    // then); one whose notification failed or was dropped is notified again at the next flush
    // (Alertmanager deletes resolved alerts only after a successful notify).
    for (auto it = g.alerts.begin(); it != g.alerts.end();) {
      const uint64_t fp = it->first;
      if (it->second.resolved && (std::binary_search(muted.begin(), muted.end(), fp) ||
                                  nothing_pending(r, g.key, fp, &job_made))) {
        release_alert(fp);
        it = g.alerts.erase(it);
      } else {
        ++it;
      }
    }
    g.flushed = true;
    g.next_flush = t + g.route->group_interval;
  }

  // mu held: whether every integration of `r` that sends resolved has no unconfirmed
  // notification for group `key` (none made now per `job_made`, no optimistic dedup state), and,
  // when `fp` is not 0 and it has a state, that state has `fp` resolved.
  bool nothing_pending(const Receiver& r, const std::string& key, uint64_t fp,
                       const std::vector<bool>* job_made) const {
    for (size_t i = 0; i < r.integrations.size(); ++i) {
      if (!r.integrations[i].notifier->send_resolved()) continue;
      if (job_made != nullptr && (*job_made)[i]) return false;
      auto d = dedup.find(dedup_key_of(r.name, r.integrations[i].key, key));
      if (d == dedup.end()) continue;
      if (d->second.seq != 0) return false;
      if (job_made == nullptr &&
          !std::binary_search(d->second.sets.resolved.begin(), d->second.sets.resolved.end(), fp)) {
        return false;
      }
    }
    return true;
  }

  // mu held: after a confirmed delivery, removes the resolved alerts it carried that every
  // integration sending resolved has now delivered (Alertmanager's DeleteIfNotModified), and the
  // group if that empties it.
  void remove_delivered_resolved(const Receiver& r, const Job& job) {
    if (job.resolved.empty()) return;
    auto g = groups.find(r.name + '\n' + job.group.group_key);
    if (g == groups.end()) return;
    for (uint64_t fp : job.resolved) {
      auto a = g->second->alerts.find(fp);
      if (a == g->second->alerts.end() || !a->second.resolved) continue;
      if (!nothing_pending(r, g->second->key, fp, nullptr)) continue;
      release_alert(fp);
      g->second->alerts.erase(a);
    }
    if (g->second->alerts.empty()) groups.erase(g);
  }

  // mu held: undoes the optimistic dedup state of a job that was not delivered.
  void revert_dedup(const Job& job) {
    auto d = dedup.find(job.dedup_key);
    if (d == dedup.end() || d->second.seq != job.seq) return;
    if (job.previous) {
      d->second = Dedup{*job.previous, 0};
    } else {
      dedup.erase(d);
    }
  }

  void tick() {
    std::lock_guard serial(tick_mu);  // flushes in order (the timer thread and tick() callers)
    const TimePoint t = now();
    inhibitor.gc(t);
    FlushOutput out;
    bool expire = false;
    {
      std::lock_guard lock(mu);
      TimePoint earliest{};
      for (auto it = groups.begin(); it != groups.end();) {
        AggregationGroup& g = *it->second;
        if (g.next_flush <= t) flush_group(g, t, out);
        if (g.alerts.empty()) {
          it = groups.erase(it);
          continue;
        }
        if (earliest == TimePoint{} || g.next_flush < earliest) earliest = g.next_flush;
        ++it;
      }
      next_due = earliest;
      if (t - last_expire >= std::chrono::minutes(10)) {
        expire = true;
        last_expire = t;
        for (auto it = dedup.begin(); it != dedup.end();) {
          it = it->second.sets.at + options.log_retention < t ? dedup.erase(it) : std::next(it);
        }
      }
    }
    if (expire) log.expire(t - options.log_retention);
    if (out.jobs.empty() && out.states.empty()) return;
    // What the queues cannot take is dropped before it is written (a flood writes no log rows
    // it would mark dropped at once).
    std::vector<size_t> room(receivers.size());
    for (size_t i = 0; i < receivers.size(); ++i) room[i] = receivers[i]->queue.free_slots();
    std::vector<std::pair<size_t, std::shared_ptr<Job>>> jobs;
    jobs.reserve(out.jobs.size());
    for (auto& rj : out.jobs) {
      if (room[rj.first] > 0) {
        --room[rj.first];
        jobs.push_back(std::move(rj));
      } else {
        drop(*receivers[rj.first], *rj.second, false);
      }
    }
    // The log first (one transaction), then the queues.
    std::vector<LogEntry> entries(jobs.size());
    std::vector<LogEntry*> ptrs;
    for (size_t i = 0; i < jobs.size(); ++i) {
      Job& j = *jobs[i].second;
      entries[i].receiver = receivers[jobs[i].first]->name;
      entries[i].integration =
          receivers[jobs[i].first]->integrations[static_cast<size_t>(j.integration)].key;
      entries[i].group = std::move(j.group);  // moved back below
      entries[i].firing = j.firing;
      entries[i].resolved = j.resolved;
      entries[i].created = j.created;
      ptrs.push_back(&entries[i]);
    }
    log.write_flush(ptrs, out.states);
    for (size_t i = 0; i < jobs.size(); ++i) {
      auto& [ri, job] = jobs[i];
      job->group = std::move(entries[i].group);
      job->log_id = entries[i].id;
      job->queued_at = SteadyClock::now();
      Receiver& r = *receivers[ri];
      {
        std::lock_guard il(idle_mu);
        ++outstanding;
      }
      if (r.queue.try_push(job)) continue;
      {
        std::lock_guard il(idle_mu);
        --outstanding;
      }
      idle_cv.notify_all();
      drop(r, *job, true);
    }
  }

  // A job the receiver's queue did not take (full, or stopped: then it stays pending in the log).
  void drop(Receiver& r, const Job& job, bool logged) {
    const bool shutting = r.queue.stopped();
    {
      std::lock_guard sl(r.stats_mu);
      Integration& in = r.integrations[static_cast<size_t>(job.integration)];
      ++in.status.dropped;
      (shutting ? in.dropped_shutdown_metric : in.dropped_queue_metric).inc();
    }
    if (logged && !shutting) log.mark_given_up(job.log_id);
    std::lock_guard lock(mu);
    revert_dedup(job);
  }

  // ---- delivery ----

  void finish_job() {
    {
      std::lock_guard il(idle_mu);
      --outstanding;
    }
    idle_cv.notify_all();
  }

  void delivery_main(Receiver& r) {
    std::mt19937_64 rng(std::random_device{}());
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    while (auto job = r.queue.pop()) {
      deliver(r, *job, [&] { return unit(rng); });
      finish_job();
    }
  }

  template <typename Random>
  void deliver(Receiver& r, Job& job, Random&& random01) {
    Integration& in = r.integrations[static_cast<size_t>(job.integration)];
    // The deadline counts from the queueing (a slow receiver's backlog ages too).
    const auto deadline = job.queued_at + options.delivery_deadline;
    if (SteadyClock::now() >= deadline) {
      return give_up(r, in, job,
                     r.name + "/" + in.status.integration +
                         ": deadline passed while queued (no attempt made)");
    }
    for (int attempt = 1;; ++attempt) {
      if (stopping.load()) return abandon(r, in);
      const auto attempt_deadline =
          std::min(deadline, SteadyClock::now() + options.attempt_timeout);
      {
        std::lock_guard sl(r.stats_mu);
        in.status.last_attempt = now();
      }
      DeliveryResult res;
      try {
        res = in.notifier->notify(job.group, DeliveryContext{attempt_deadline, attempt});
      } catch (...) {
        res = DeliveryResult::failed("notifier threw: " + what_of(std::current_exception()));
      }
      if (res.ok()) return delivered(r, in, job);
      if (stopping.load()) return abandon(r, in);  // aborted: stays pending in the log
      std::string error = r.name + "/" + in.status.integration + ": " + res.error;
      if (res.status == DeliveryStatus::kFailed) return give_up(r, in, job, std::move(error));
      // Retry-After never shortens the backoff (0 or a past date would spin).
      std::chrono::milliseconds delay =
          vigil::detail::backoff_delay(options.retry, attempt, random01());
      if (res.retry_after) delay = std::max(delay, *res.retry_after);
      const bool out_of_attempts =
          options.retry.max_attempts > 0 && attempt >= options.retry.max_attempts;
      if (out_of_attempts || SteadyClock::now() + delay >= deadline) {
        return give_up(r, in, job,
                       error + (out_of_attempts ? " (out of attempts)" : " (deadline passed)"));
      }
      {
        std::lock_guard sl(r.stats_mu);
        ++in.status.retried;
        in.status.last_error = error;
      }
      in.retries_metric.inc();
      if (!r.queue.sleep_for(delay)) return abandon(r, in);
    }
  }

  void abandon(Receiver& r, Integration& in) {
    ++abandoned_in_flight;
    std::lock_guard sl(r.stats_mu);
    ++in.status.dropped;
    in.dropped_shutdown_metric.inc();
  }

  void delivered(Receiver& r, Integration& in, Job& job) {
    const TimePoint t = now();
    log.mark_delivered(job.log_id, DedupState{r.name, in.key, job.group.group_key, job.firing,
                                              job.resolved, job.created});
    {
      std::lock_guard lock(mu);
      auto d = dedup.find(job.dedup_key);
      if (d == dedup.end() || d->second.seq == job.seq || d->second.sets.at <= job.created) {
        dedup[job.dedup_key] = Dedup{DeliveredSets{job.firing, job.resolved, job.created}, 0};
      }
      if (in.notifier->send_resolved()) remove_delivered_resolved(r, job);
    }
    {
      std::lock_guard sl(r.stats_mu);
      ++in.status.sent;
      in.status.last_success = t;
    }
    in.sent_metric.inc();
    in.latency_metric.observe(
        std::chrono::duration<double>(SteadyClock::now() - job.queued_at).count());
  }

  void give_up(Receiver& r, Integration& in, Job& job, std::string error) {
    log.mark_given_up(job.log_id);
    {
      std::lock_guard lock(mu);
      revert_dedup(job);
    }
    {
      std::lock_guard sl(r.stats_mu);
      ++in.status.failed;
      in.status.last_error = std::move(error);
    }
    in.failed_metric.inc();
  }

  // ---- threads ----

  void timer_main() {
    std::unique_lock lock(timer_mu);
    while (!timer_stop) {
      lock.unlock();
      tick();
      TimePoint due;
      {
        std::lock_guard l(mu);
        due = next_due;
      }
      auto wait = std::chrono::milliseconds(250);
      if (due != TimePoint{}) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - now());
        wait = std::clamp(left, std::chrono::milliseconds(1), wait);
      }
      lock.lock();
      timer_cv.wait_for(lock, wait, [&] { return timer_stop || timer_wake; });
      timer_wake = false;
    }
  }

  void start() {
    std::lock_guard lock(run_mu);
    if (started || shut_down) return;
    started = true;
    for (auto& r : receivers) {
      Receiver* rp = r.get();
      r->thread = std::thread([this, rp] { delivery_main(*rp); });
    }
    if (options.run_timer_thread) timer = std::thread([this] { timer_main(); });
  }

  bool flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(idle_mu);
    return idle_cv.wait_for(lock, timeout, [&] { return outstanding == 0; });
  }

  uint64_t sent_total() const {
    uint64_t n = 0;
    for (const auto& r : receivers) {
      std::lock_guard sl(r->stats_mu);
      for (const auto& in : r->integrations) n += in.status.sent;
    }
    return n;
  }

  ShutdownReport shutdown(std::chrono::milliseconds deadline) {
    std::lock_guard lock(run_mu);
    ShutdownReport report;
    if (shut_down) return report;
    shut_down = true;
    {
      std::lock_guard tl(timer_mu);
      timer_stop = true;
    }
    timer_cv.notify_all();
    if (timer.joinable()) timer.join();
    const uint64_t before = sent_total();
    if (started) flush(deadline);
    stopping = true;
    uint64_t left = 0;
    for (auto& r : receivers) {
      // What is still queued stays pending in the log (sent again after a restart).
      const auto queued = r->queue.stop();
      left += queued.size();
      {
        std::lock_guard sl(r->stats_mu);
        for (const auto& job : queued) {
          Integration& in = r->integrations[static_cast<size_t>(job->integration)];
          ++in.status.dropped;
          in.dropped_shutdown_metric.inc();
        }
      }
      for (size_t i = 0; i < queued.size(); ++i) finish_job();
      for (auto& in : r->integrations) in.notifier->abort();
    }
    for (auto& r : receivers) {
      if (r->thread.joinable()) r->thread.join();
    }
    report.delivered = sent_total() - before;
    report.abandoned = left + abandoned_in_flight.load();
    return report;
  }
};

// ---------------------------------------------------------------------------------------------

Dispatcher::Dispatcher(DispatcherOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->build_receivers();
  impl_->open_log();
}

Dispatcher::~Dispatcher() { shutdown(std::chrono::seconds(5)); }

int Dispatcher::attach(AlertManager& manager) {
  std::weak_ptr<Impl> weak = impl_;
  return manager.on_alert([weak](const Notification& n) {
    if (auto impl = weak.lock()) impl->submit(n);
  });
}

void Dispatcher::detach(AlertManager& manager, int id) { manager.remove_callback(id); }

void Dispatcher::submit(const Notification& notification) { impl_->submit(notification); }
void Dispatcher::start() { impl_->start(); }
void Dispatcher::tick() { impl_->tick(); }
bool Dispatcher::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }
ShutdownReport Dispatcher::shutdown(std::chrono::milliseconds deadline) {
  return impl_->shutdown(deadline);
}

DispatcherStatus Dispatcher::status() const {
  DispatcherStatus s;
  for (const auto& r : impl_->receivers) {
    ReceiverStatus rs;
    rs.name = r->name;
    rs.queued = r->queue.size();
    std::lock_guard sl(r->stats_mu);
    for (const auto& in : r->integrations) rs.integrations.push_back(in.status);
    s.receivers.push_back(std::move(rs));
  }
  {
    std::lock_guard lock(impl_->mu);
    s.alerts = impl_->alerts.size();
    s.alerts_dropped = impl_->alerts_dropped;
    s.inhibited = impl_->inhibited;
    s.unknown_channels = impl_->unknown_channels;
    s.last_unknown_channel = impl_->last_unknown_channel;
  }
  s.log_ok = !impl_->log.enabled() || impl_->log.ok();
  s.log_error = impl_->log.error();
  s.redelivered = impl_->redelivered.load();
  return s;
}

std::vector<GroupStatus> Dispatcher::groups() const {
  std::vector<GroupStatus> out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [k, g] : impl_->groups) {
    GroupStatus gs;
    gs.receiver = impl_->receivers[g->receiver]->name;
    gs.group_key = g->key;
    gs.group_labels = g->labels;
    for (const auto& [fp, a] : g->alerts) gs.alerts.push_back(a);
    dispatch::sort_alerts(gs.alerts);
    gs.next_flush = g->next_flush;
    out.push_back(std::move(gs));
  }
  return out;
}

const Router& Dispatcher::router() const noexcept { return impl_->router; }

}  // namespace vigil::alerting
