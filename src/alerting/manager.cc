// The rule engine: rules, alert states (Prometheus 2.42 rules/alerting.go), silences, history,
// health, notifications, the evaluation thread and the workers that run C++ conditions.
#include "vigil/alerting/manager.h"

#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "alerting/label_matcher.h"
#include "alerting/manager_access.h"
#include "alerting/rule_def.h"
#include "alerting/state_store.h"
#include "alerting/template.h"
#include "core/detail/worker_pool.h"
#include "vigil/core/error.h"
#include "vigil/metrics/counter.h"
#include "vigil/metrics/gauge.h"
#include "vigil/metrics/names.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {

std::string_view to_string(RuleHealth health) noexcept {
  switch (health) {
    case RuleHealth::kUnknown:
      return "unknown";
    case RuleHealth::kOk:
      return "ok";
    case RuleHealth::kError:
      return "err";
  }
  return "unknown";
}

namespace {

using Steady = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;
constexpr auto kSilenceRetention = std::chrono::hours(120);  // Alertmanager's default
// The longest evaluation_interval, condition_timeout, resend_delay and resolved_retention: they
// are added to nanosecond time points, which a few hundred years overflow.
constexpr Ms kMaxOptionDuration = std::chrono::hours(24 * 365 * 100);

// t + d, or the largest time point where that would overflow (d up to a few thousand years).
TimePoint add_saturated(TimePoint t, Ms d) {
  const Ms room = std::chrono::duration_cast<Ms>(TimePoint::max().time_since_epoch()) -
                  std::chrono::duration_cast<Ms>(t.time_since_epoch());
  return d >= room ? TimePoint::max() : t + d;
}
// The manager whose round runs on this thread (callbacks run inside it).
thread_local const void* tl_evaluating = nullptr;

// Threads beyond condition_threads that replace lanes held by hung conditions (each hung rule
// holds at most one: it is not started again while it runs).
constexpr int kSpareThreads = 16;

int64_t to_ms(TimePoint t) { return std::chrono::duration_cast<Ms>(t.time_since_epoch()).count(); }

using detail::find_label;

void set_label(LabelList& labels, const std::string& name, const std::string& value) {
  for (auto& [k, v] : labels) {
    if (k == name) {
      v = value;
      return;
    }
  }
  labels.emplace_back(name, value);
}

// Templates: C++ rules use the guides' braces (`{value}`, `{value:.2f}`, `{labels.x}`, `{x}`)
// over the alert's labels; PromQL rules Go templates parsed at build() over the series' labels,
// as Prometheus. An expansion error becomes the text (as Prometheus writes it) and `error`.
std::map<std::string, std::string> label_map(const LabelList& labels) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : labels) m.emplace(k, v);
  return m;
}

std::string expand_go(const tmpl::Template& t, const tmpl::TemplateData& data, std::string& error) {
  auto r = t.execute(data);
  if (r) return std::move(*r);
  if (error.empty()) error = r.error;
  return "<error expanding template: " + r.error + ">";
}

// The guides' readable id: name, then the rule's labels in their order, then the series' other
// labels in name order, as _k=v (alertname and severity left out).
std::string readable_id(const detail::RuleDef& def, const LabelList& sorted_labels) {
  std::string id = def.name;
  std::set<std::string_view> done{"alertname", "severity"};
  for (const auto& [k, v] : def.labels) {
    if (!done.insert(k).second) continue;
    id += '_';
    id += k;
    id += '=';
    id += find_label(sorted_labels, k);
  }
  for (const auto& [k, v] : sorted_labels) {
    if (done.count(k) != 0) continue;
    id += '_';
    id += k;
    id += '=';
    id += v;
  }
  return id;
}

// The alert labels of one result series: the series' labels without __name__, the rule's labels
// over them, alertname, severity; sorted.
LabelList alert_labels(const detail::RuleDef& def, const LabelList& series,
                       const tmpl::TemplateData* data, std::string& error) {
  LabelList out;
  out.reserve(series.size() + def.labels.size() + 2);
  for (const auto& kv : series) {
    if (kv.first != "__name__") out.push_back(kv);
  }
  for (size_t i = 0; i < def.labels.size(); ++i) {
    // Label values of PromQL rules are templates, as in Prometheus.
    const auto& [k, v] = def.labels[i];
    if (data != nullptr && i < def.label_templates.size()) {
      set_label(out, k, expand_go(*def.label_templates[i], *data, error));
    } else {
      set_label(out, k, v);
    }
  }
  set_label(out, "alertname", def.name);
  if (def.severity_set) set_label(out, "severity", std::string(to_string(def.severity)));
  std::sort(out.begin(), out.end());
  return out;
}

Severity severity_of(const LabelList& labels) {
  return parse_severity(find_label(labels, "severity")).value_or(Severity::kWarning);
}

// What of an alert must survive a restart (a change goes to the StateSink).
struct PersistentState {
  AlertState state = AlertState::kInactive;
  TimePoint active_at, fired_at, resolved_at, last_sent_at, keep_firing_since;
  explicit PersistentState(const Alert& a)
      : state(a.state),
        active_at(a.active_at),
        fired_at(a.fired_at),
        resolved_at(a.resolved_at),
        last_sent_at(a.last_sent_at),
        keep_firing_since(a.keep_firing_since) {}
};

bool same_persistent_state(const PersistentState& a, const Alert& b) {
  return a.state == b.state && a.active_at == b.active_at && a.fired_at == b.fired_at &&
         a.resolved_at == b.resolved_at && a.last_sent_at == b.last_sent_at &&
         a.keep_firing_since == b.keep_firing_since;
}

using detail::CompiledMatcher;

struct SilenceEntry {
  Silence silence;
  std::vector<CompiledMatcher> matchers;
  bool matches(const LabelList& labels) const {
    for (const CompiledMatcher& m : matchers) {
      if (!m.matches(find_label(labels, m.m.name))) return false;
    }
    return true;
  }
};

std::string random_uuid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}() ^
                             static_cast<uint64_t>(Steady::now().time_since_epoch().count())};
  uint64_t a, b;
  {
    std::lock_guard lock(mu);
    a = rng();
    b = rng();
  }
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  char buf[37];
  std::snprintf(
      buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
      static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
      static_cast<unsigned long long>(a & 0xffff), static_cast<unsigned long long>(b >> 48),
      static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// Everything the manager knows about one rule.
struct RuleState {
  std::shared_ptr<const detail::RuleDef> def;
  std::map<uint64_t, Alert> active;             // Prometheus' r.active (incl. resolved)
  std::map<uint64_t, TimePoint> last_notified;  // fingerprint -> last firing notification
  // fingerprint -> last time a silenced alert was handed over in Notification::silenced
  std::map<uint64_t, TimePoint> silenced_handover;
  RuleHealth health = RuleHealth::kUnknown;
  std::string last_error;
  TimePoint last_evaluation;
  std::chrono::nanoseconds duration{0};
  uint64_t evaluations = 0;
  uint64_t failures = 0;
  bool restored_checked = false;
  // A condition of this rule is running on a worker (possibly hung since an earlier round).
  std::atomic<bool> running{false};
  bool removed = false;  // taken out of the manager (under mu)
};

// One C++ condition run in a round.
struct Slot {
  std::shared_ptr<RuleState> rule;
  Steady::duration timeout{};
  bool started = false;
  bool finished = false;
  bool abandoned = false;
  bool in_lane = false;  // a lane is running its condition now
  Steady::time_point start;
  Steady::duration took{};
  std::vector<SeriesValue> result;
  std::string error;
};

struct Round {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Slot> slots;
  size_t next = 0;
  bool closed = false;
  int lanes_running = 0;  // lanes that have started and not exited
  size_t open = 0;        // slots neither finished nor abandoned (the waiter wakes at 0)
};

// Runs slots until none is left (one "lane" on a worker thread).
void run_lane(const std::shared_ptr<Round>& round) {
  std::unique_lock lock(round->mu);
  for (;;) {
    if (round->closed || round->next >= round->slots.size()) break;
    Slot& slot = round->slots[round->next++];
    if (slot.abandoned) continue;
    slot.started = true;
    slot.in_lane = true;
    slot.start = Steady::now();
    std::shared_ptr<RuleState> rule = slot.rule;
    lock.unlock();
    std::vector<SeriesValue> result;
    std::string error;
    try {
      result = rule->def->condition();
    } catch (const std::exception& e) {
      error = std::string("condition threw: ") + e.what();
    } catch (...) {
      error = "condition threw a non-standard exception";
    }
    const Steady::time_point end = Steady::now();
    rule->running.store(false, std::memory_order_release);
    lock.lock();
    slot.finished = true;
    slot.in_lane = false;
    if (!slot.abandoned) {
      slot.took = end - slot.start;
      slot.result = std::move(result);
      slot.error = std::move(error);
      if (--round->open == 0) round->cv.notify_all();
    }
  }
  --round->lanes_running;
  round->cv.notify_all();
}

struct Instruments {
  metrics::Family<metrics::Counter>* evaluations = nullptr;
  metrics::Family<metrics::Counter>* failures = nullptr;
  metrics::Family<metrics::Gauge>* group_duration = nullptr;
  metrics::Family<metrics::Gauge>* alerts = nullptr;
  metrics::Family<metrics::Gauge>* silences = nullptr;
  metrics::Family<metrics::Counter>* callback_errors = nullptr;
};

}  // namespace

struct AlertManager::Impl {
  explicit Impl(AlertManagerOptions o)
      : options(std::move(o)),
        pool(std::max(1, options.condition_threads) + kSpareThreads, std::chrono::seconds(60)) {}

  const AlertManagerOptions options;

  TimePoint now() const {
    return options.clock ? options.clock() : std::chrono::system_clock::now();
  }

  // ---- state (mu) ----
  mutable std::mutex mu;
  std::vector<std::shared_ptr<RuleState>> rules;  // in the order added
  std::map<std::string, SilenceEntry> silences;   // by id
  std::deque<HistoryEntry> history;               // oldest first
  std::map<std::pair<std::string, uint64_t>, Alert> restored;
  std::map<std::string, TimePoint> group_last_eval;
  bool rules_changed = true;
  std::vector<std::shared_ptr<const detail::RuleDef>> removed_query_rules;

  // ---- callbacks (cb_mu) ----
  std::mutex cb_mu;
  int next_callback_id = 1;
  std::vector<std::pair<int, std::shared_ptr<AlertCallback>>> callbacks;

  // ---- evaluation (eval_mu: one round at a time) ----
  std::mutex eval_mu;
  std::unique_ptr<detail::QueryEngine> engine;  // created with the first PromQL rule
  // Set by ManagerAccess::use_storage: PromQL rules read this storage, the registry is not
  // sampled (`vigil rules test`).
  alerting::promql::MemoryStorage* external_storage = nullptr;
  vigil::detail::WorkerPool pool;

  // ---- the evaluation thread ----
  std::mutex thread_mu;
  std::condition_variable thread_cv;
  std::thread thread;
  bool stop_requested = false;
  std::atomic<bool> running{false};

  Instruments metrics;
  // state_path persistence (null without one); options.state_sink points at it when it works.
  std::unique_ptr<detail::StateStore> store;

  void init_metrics() {
    metrics::Registry* r = options.self_metrics;
    if (r == nullptr) return;
    metrics.evaluations = &r->counter("vigil_alerting_rule_evaluations_total",
                                      "Rule evaluations, by rule group.", {"group"});
    metrics.failures =
        &r->counter("vigil_alerting_rule_evaluation_failures_total",
                    "Rule evaluations that failed (error, exception, timeout).", {"group"});
    metrics.group_duration =
        &r->gauge("vigil_alerting_rule_group_last_duration_seconds",
                  "How long the last evaluation of the rule group took.", {"group"});
    metrics.alerts = &r->gauge("vigil_alerting_alerts", "Active alerts, by state.", {"state"});
    metrics.silences = &r->gauge("vigil_alerting_silences", "Silences, by state.", {"state"});
    metrics.callback_errors = &r->counter("vigil_alerting_callback_errors_total",
                                          "Exceptions thrown by alert callbacks.");
  }

  void sink_alert(const Alert& a) {
    if (options.state_sink != nullptr) options.state_sink->alert_changed(a);
  }
  void sink_removed(const std::string& rule, uint64_t fp) {
    if (options.state_sink != nullptr) options.state_sink->alert_removed(rule, fp);
  }

  void add_history(HistoryEntry e) {
    if (options.state_sink != nullptr) options.state_sink->history_added(e);
    history.push_back(std::move(e));
    while (options.history_limit > 0 && history.size() > options.history_limit) {
      history.pop_front();
    }
  }

  static HistoryEntry history_of(const Alert& a, TimePoint ended, bool fired) {
    HistoryEntry e;
    e.name = a.name;
    e.group = a.group;
    e.labels = a.labels;
    e.annotations = a.annotations;
    e.severity = a.severity;
    e.fingerprint = a.fingerprint;
    e.id = a.id;
    e.started_at = a.active_at;
    e.fired_at = a.fired_at;
    e.ended_at = ended;
    e.fired = fired;
    e.peak_value = a.peak_value;
    e.last_value = a.value;
    return e;
  }

  LabelList with_external(const LabelList& labels) const {
    if (options.external_labels.empty()) return labels;
    LabelList out = labels;
    for (const auto& [k, v] : options.external_labels) {
      if (find_label(out, k).empty()) out.emplace_back(k, v);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Sets silenced / silenced_by of `a` at `ts`. Called with mu held.
  void mark_silenced(Alert& a, TimePoint ts) const {
    a.silenced_by.clear();
    if (!silences.empty()) {
      const LabelList labels = with_external(a.labels);
      for (const auto& [id, s] : silences) {
        if (s.silence.state(ts) == SilenceState::kActive && s.matches(labels)) {
          a.silenced_by.push_back(id);
        }
      }
    }
    a.silenced = !a.silenced_by.empty();
  }

  // Prometheus' AlertingRule.Eval over the condition's result, then needsSending. Called with
  // mu held.
  void apply(RuleState& rs, TimePoint ts, const std::vector<SeriesValue>& result, std::string error,
             std::vector<Transition>& transitions, Notification& notification) {
    const detail::RuleDef& def = *rs.def;
    ++rs.evaluations;
    rs.last_evaluation = ts;

    std::map<uint64_t, Alert> fresh;
    const bool braces = def.expr.empty();
    std::string template_error;
    if (error.empty()) {
      for (const SeriesValue& sv : result) {
        Alert a;
        a.name = def.name;
        a.group = def.group;
        tmpl::TemplateData data;
        if (!braces) {
          data.labels = label_map(sv.labels);
          data.external_labels = label_map(options.external_labels);
          data.value = sv.value;
        }
        a.labels = alert_labels(def, sv.labels, braces ? nullptr : &data, template_error);
        a.fingerprint = label_fingerprint(a.labels);
        if (fresh.count(a.fingerprint) != 0) {
          error = "vector contains metrics with the same labelset after applying alert labels";
          break;
        }
        a.severity = severity_of(a.labels);
        a.value = sv.value;
        a.peak_value = sv.value;
        std::map<std::string, std::string> own;
        if (braces) own = label_map(a.labels);
        if (!def.description.empty()) {
          a.annotations.emplace_back(
              "description", braces ? tmpl::expand_braces(def.description, own, a.value)
                             : def.description_template
                                 ? expand_go(*def.description_template, data, template_error)
                                 : def.description);
        }
        for (size_t i = 0; i < def.annotations.size(); ++i) {
          const auto& [k, v] = def.annotations[i];
          if (braces) {
            set_label(a.annotations, k, tmpl::expand_braces(v, own, a.value));
          } else if (i < def.annotation_templates.size()) {
            set_label(a.annotations, k,
                      expand_go(*def.annotation_templates[i], data, template_error));
          } else {
            set_label(a.annotations, k, v);
          }
        }
        a.state = AlertState::kPending;
        a.active_at = ts;
        fresh.emplace(a.fingerprint, std::move(a));
      }
    }
    if (!error.empty()) {
      // As Prometheus: the rule errors and its alerts stay as they were.
      rs.health = RuleHealth::kError;
      rs.last_error = std::move(error);
      ++rs.failures;
      if (metrics.failures != nullptr) metrics.failures->labels(def.group).inc();
      return;
    }

    // The alerts' states before this evaluation (the alerts themselves are not copied).
    std::map<uint64_t, PersistentState> before;
    for (const auto& [fp, a] : rs.active) before.emplace(fp, PersistentState(a));

    for (auto& [fp, a] : fresh) {
      auto it = rs.active.find(fp);
      if (it != rs.active.end() && it->second.state != AlertState::kResolved) {
        it->second.value = a.value;
        it->second.peak_value = std::max(it->second.peak_value, a.value);
        it->second.annotations = std::move(a.annotations);
        continue;
      }
      if (!rs.restored_checked) {
        // Prometheus' `for` state restore: the alert keeps when it became active.
        auto r = restored.find({def.name, fp});
        if (r != restored.end() &&
            (r->second.state == AlertState::kPending || r->second.state == AlertState::kFiring)) {
          a.active_at = r->second.active_at;
          a.state = r->second.state;
          a.fired_at = r->second.fired_at;
          a.last_sent_at = r->second.last_sent_at;
          a.peak_value = std::max(a.peak_value, r->second.peak_value);
        }
      }
      a.id = readable_id(def, a.labels);  // only for a new alert: the id follows the labels
      rs.active[fp] = std::move(a);
    }
    if (!rs.restored_checked) {
      rs.restored_checked = true;
      for (auto it = restored.begin(); it != restored.end();) {
        if (it->first.first != def.name) {
          ++it;
          continue;
        }
        // Not restored (its series is no longer true): forget the stored state too.
        if (rs.active.count(it->first.second) == 0) sink_removed(def.name, it->first.second);
        it = restored.erase(it);
      }
    }

    size_t active_pending = 0;
    for (auto it = rs.active.begin(); it != rs.active.end();) {
      Alert& a = it->second;
      const uint64_t fp = it->first;
      if (fresh.count(fp) == 0) {
        bool keep_firing = false;
        if (a.state == AlertState::kFiring && def.keep_firing_for.count() > 0) {
          if (a.keep_firing_since == TimePoint{}) a.keep_firing_since = ts;
          if (ts - a.keep_firing_since < def.keep_firing_for) keep_firing = true;
        }
        if (a.state == AlertState::kPending ||
            (a.resolved_at != TimePoint{} && ts - a.resolved_at > options.resolved_retention)) {
          if (a.state == AlertState::kPending) {
            add_history(history_of(a, ts, false));
            transitions.push_back({AlertState::kPending, AlertState::kInactive, a});
            transitions.back().alert.state = AlertState::kInactive;
          }
          sink_removed(def.name, fp);
          it = rs.active.erase(it);
          continue;
        }
        if (a.state != AlertState::kResolved && !keep_firing) {
          a.state = AlertState::kResolved;
          a.resolved_at = ts;
          add_history(history_of(a, ts, true));
        }
        if (!keep_firing) {
          ++it;
          continue;
        }
      } else {
        a.keep_firing_since = TimePoint{};
      }
      ++active_pending;
      if (a.state == AlertState::kPending && ts - a.active_at >= def.for_duration) {
        a.state = AlertState::kFiring;
        a.fired_at = ts;
      }
      ++it;
    }

    if (def.limit > 0 && active_pending > static_cast<size_t>(def.limit)) {
      for (const auto& [fp, a] : rs.active) sink_removed(def.name, fp);
      rs.active.clear();
      rs.health = RuleHealth::kError;
      rs.last_error = "exceeded limit of " + std::to_string(def.limit) + " with " +
                      std::to_string(active_pending) + " alerts";
      ++rs.failures;
      if (metrics.failures != nullptr) metrics.failures->labels(def.group).inc();
      return;
    }
    if (template_error.empty()) {
      rs.health = RuleHealth::kOk;
      rs.last_error.clear();
    } else {
      // The alerts are evaluated; the template error shows in the annotation and here.
      rs.health = RuleHealth::kError;
      rs.last_error = std::move(template_error);
      ++rs.failures;
      if (metrics.failures != nullptr) metrics.failures->labels(def.group).inc();
    }

    // Silences, sending (Prometheus' needsSending + sendAlerts), transitions, the sink.
    const auto interval = def.interval.count() > 0 ? def.interval : options.evaluation_interval;
    for (auto& [fp, a] : rs.active) {
      mark_silenced(a, ts);
      const bool firing = a.state == AlertState::kFiring;
      if (a.state != AlertState::kPending) {
        const auto delay =
            firing ? std::max(options.resend_delay, def.cooldown) : options.resend_delay;
        const bool needs_send = needs_sending(a, ts, delay);
        bool send = needs_send && !a.silenced;
        if (send && firing && def.cooldown.count() > 0) {
          auto ln = rs.last_notified.find(fp);
          if (ln != rs.last_notified.end() && ts - ln->second < def.cooldown) send = false;
        }
        if (send && !firing && a.last_sent_at == TimePoint{}) send = false;  // never notified
        if (send) {
          a.last_sent_at = ts;
          // Valid for four resend periods, of the delay actually used (a cooldown lengthens
          // it): a receiver expires the alert only when the engine stopped sending it.
          a.valid_until = add_saturated(ts, 4 * std::max(delay, interval));
          if (firing) rs.last_notified[fp] = ts;
          rs.silenced_handover.erase(fp);
          Alert out = a;
          out.labels = with_external(a.labels);
          // The fingerprint of the labels as sent (Alertmanager's, with external labels).
          if (!options.external_labels.empty()) out.fingerprint = label_fingerprint(out.labels);
          notification.alerts.push_back(std::move(out));
        } else if (needs_send && a.silenced && (firing || a.last_sent_at != TimePoint{})) {
          // Silenced: not notified, but handed over (every resend delay) in
          // Notification::silenced so that a delivery pipeline keeps it alive, muted, and as an
          // inhibition source, as Alertmanager keeps silenced alerts. last_sent_at is left as
          // it is, so the alert is notified at once when the silence ends.
          auto h = rs.silenced_handover.find(fp);
          if (h == rs.silenced_handover.end() || ts - h->second >= delay) {
            rs.silenced_handover[fp] = ts;
            Alert out = a;
            out.valid_until = add_saturated(ts, 4 * std::max(delay, interval));
            out.labels = with_external(a.labels);
            // The fingerprint of the labels as sent (Alertmanager's, with external labels).
            if (!options.external_labels.empty()) out.fingerprint = label_fingerprint(out.labels);
            notification.silenced.push_back(std::move(out));
          }
        }
      }
      if (!a.silenced) rs.silenced_handover.erase(fp);
      auto b = before.find(fp);
      const AlertState from = b == before.end() ? AlertState::kInactive : b->second.state;
      if (from != a.state) transitions.push_back({from, a.state, a});
      if (b == before.end() || !same_persistent_state(b->second, a)) sink_alert(a);
    }
    for (auto it = rs.silenced_handover.begin(); it != rs.silenced_handover.end();) {
      it = rs.active.count(it->first) == 0 ? rs.silenced_handover.erase(it) : std::next(it);
    }
    // Cooldown memory of alerts long gone.
    for (auto it = rs.last_notified.begin(); it != rs.last_notified.end();) {
      it = rs.active.count(it->first) == 0 && ts - it->second >= def.cooldown
               ? rs.last_notified.erase(it)
               : std::next(it);
    }
  }

  // One round: the due groups (all when `all`). Returns the transitions.
  std::vector<Transition> run_round(bool all) {
    // evaluate() from a callback of a round on this thread would wait for its own lock forever.
    if (tl_evaluating == this) {
      throw Error("alert manager: evaluate() called from an alert callback");
    }
    std::lock_guard eval_lock(eval_mu);
    tl_evaluating = this;
    struct Reset {
      ~Reset() { tl_evaluating = nullptr; }
    } reset;
    const TimePoint ts = now();
    const Steady::time_point round_start = Steady::now();

    // Which rules are due, and which are still running from an earlier round.
    std::vector<std::shared_ptr<RuleState>> due;
    bool query_rules_changed = false;
    std::vector<std::shared_ptr<const detail::RuleDef>> removed_queries;
    std::vector<std::shared_ptr<const detail::RuleDef>> all_defs;
    {
      std::lock_guard lock(mu);
      std::map<std::string, bool> group_due;
      for (const auto& r : rules) {
        const std::string& g = r->def->group;
        if (group_due.count(g) == 0) {
          bool d = all;
          if (!d) {
            const auto interval =
                r->def->interval.count() > 0 ? r->def->interval : options.evaluation_interval;
            auto last = group_last_eval.find(g);
            // Half a tick of slack so that a group at the manager's interval runs every tick.
            d = last == group_last_eval.end() || interval <= options.evaluation_interval ||
                ts - last->second >= interval - options.evaluation_interval / 2;
          }
          group_due[g] = d;
          if (d) {
            group_last_eval[g] = ts;
          }
        }
        if (group_due[g]) due.push_back(r);
      }
      query_rules_changed = rules_changed;
      rules_changed = false;
      removed_queries.swap(removed_query_rules);
      // The rule set for the PromQL engine, when a PromQL rule runs this round (C++-only rounds
      // do not copy it).
      const bool any_query = std::any_of(due.begin(), due.end(),
                                         [](const auto& r) { return r->def->query != nullptr; });
      if (query_rules_changed && any_query) {
        for (const auto& r : rules) all_defs.push_back(r->def);
      }
    }

    // C++ conditions: on worker lanes, each with its timeout, the round bounded by the longest.
    auto round = std::make_shared<Round>();
    round->slots.reserve(due.size());
    Steady::duration longest{0};
    for (const auto& r : due) {
      if (!r->def->condition) continue;
      Slot s;
      s.rule = r;
      // Deadlines are steady-clock time points in nanoseconds: a rule's timeout (up to 292
      // years) is cut at 100 years, which cannot overflow them.
      s.timeout =
          std::min(r->def->timeout.count() > 0 ? r->def->timeout : options.condition_timeout,
                   kMaxOptionDuration);
      bool expected = false;
      if (!r->running.compare_exchange_strong(expected, true)) {
        s.started = s.finished = s.abandoned = true;
        s.error = "condition still running since an earlier evaluation (timed out)";
      }
      longest = std::max(longest, s.timeout);
      round->slots.push_back(std::move(s));
    }
    size_t runnable = 0;
    for (const Slot& s : round->slots) runnable += s.started ? 0 : 1;
    // Slots not runnable are at the front only by chance: move them out of the lanes' way.
    if (runnable < round->slots.size()) {
      std::stable_partition(round->slots.begin(), round->slots.end(),
                            [](const Slot& s) { return s.started; });
    }
    {
      std::lock_guard lock(round->mu);
      round->next = round->slots.size() - runnable;
      round->open = runnable;
    }
    auto start_lane = [&]() {
      {
        std::lock_guard lock(round->mu);
        ++round->lanes_running;
      }
      if (!pool.submit([round] { run_lane(round); })) {
        std::lock_guard lock(round->mu);
        --round->lanes_running;
      }
    };
    const int lanes = static_cast<int>(
        std::min<size_t>(runnable, static_cast<size_t>(std::max(1, options.condition_threads))));
    for (int i = 0; i < lanes; ++i) start_lane();

    // The state machine of one rule's result; called with mu held.
    std::vector<Transition> transitions;
    std::vector<Notification> notifications;
    struct GroupTook {
      std::chrono::nanoseconds cpp{0}, promql{0};
    };
    std::map<std::string, GroupTook> group_took;
    auto apply_one = [&](const std::shared_ptr<RuleState>& r, std::vector<SeriesValue> result,
                         std::string error, std::chrono::nanoseconds took) {
      // A rule removed during the round is not applied.
      if (r->removed) return;
      r->duration = took;
      // A group's duration is the wall time its rules took: C++ conditions run side by side on
      // the lanes (the longest counts), PromQL rules one after another (they add up).
      auto& gt = group_took[r->def->group];
      if (r->def->expr.empty()) {
        gt.cpp = std::max(gt.cpp, took);
      } else {
        gt.promql += took;
      }
      if (metrics.evaluations != nullptr) metrics.evaluations->labels(r->def->group).inc();
      if (r->def->recording) {
        ++r->evaluations;
        r->last_evaluation = ts;
        if (error.empty()) {
          r->health = RuleHealth::kOk;
          r->last_error.clear();
        } else {
          r->health = RuleHealth::kError;
          r->last_error = std::move(error);
          ++r->failures;
          if (metrics.failures != nullptr) metrics.failures->labels(r->def->group).inc();
        }
        return;
      }
      Notification n;  // filled in only when there is something to send
      apply(*r, ts, result, std::move(error), transitions, n);
      if (!n.alerts.empty() || !n.silenced.empty()) {
        n.rule = r->def->name;
        n.group = r->def->group;
        n.channels = r->def->channels;
        n.time = ts;
        notifications.push_back(std::move(n));
      }
    };

    // PromQL rules, in order, on this thread, each followed by its state machine and its ALERTS
    // samples, as Prometheus' rule group does (recording rules and ALERTS feed later rules).
    bool has_query = false;
    for (const auto& r : due) has_query = has_query || r->def->query != nullptr;
    if (has_query || !removed_queries.empty()) {
      if (!engine) {
        for (const auto& r : due) {
          if (r->def->query) {
            engine = r->def->query->make_engine();
            if (external_storage != nullptr) engine->use_storage(external_storage);
            query_rules_changed = true;
            break;
          }
        }
      }
      if (engine) {
        for (const auto& d : removed_queries) engine->remove_rule(*d, to_ms(ts));
        if (query_rules_changed) {
          if (all_defs.empty()) {
            std::lock_guard lock(mu);
            for (const auto& r : rules) all_defs.push_back(r->def);
          }
          engine->set_rules(all_defs);
          query_rules_changed = false;
        }
        if (has_query && external_storage == nullptr) {
          engine->sample(
              options.registry != nullptr ? *options.registry : metrics::Registry::global(),
              to_ms(ts));
        }
        for (const auto& r : due) {
          if (!r->def->query) continue;
          std::vector<SeriesValue> result;
          std::string error;
          const Steady::time_point t0 = Steady::now();
          const bool ok = engine->evaluate(*r->def, to_ms(ts), result, error);
          if (ok && r->def->recording) engine->record(*r->def, result, to_ms(ts));
          std::vector<detail::QueryEngine::AlertSample> samples;
          bool write = false;
          {
            std::lock_guard lock(mu);
            apply_one(r, std::move(result), std::move(error), Steady::now() - t0);
            write = ok && !r->def->recording && r->health == RuleHealth::kOk;
            if (write) {
              for (const auto& [fp, a] : r->active) {
                if (a.state != AlertState::kPending && a.state != AlertState::kFiring) continue;
                samples.push_back({a.labels, a.state == AlertState::kFiring,
                                   static_cast<double>(to_ms(a.active_at) / 1000)});
              }
            }
          }
          if (write) engine->write_alerts(*r->def, samples, to_ms(ts));
        }
      }
    }

    if (query_rules_changed) {
      // Not applied this round (no PromQL rule was due): keep it for the next.
      std::lock_guard lock(mu);
      rules_changed = true;
    }

    // Wait for the conditions: each until its own timeout, all within the longest. The waiter
    // wakes when all are done, or to check deadlines: a slot not started yet cannot time out
    // before now + its timeout, so the scan (O(slots)) runs about once per shortest timeout.
    {
      std::unique_lock lock(round->mu);
      const Steady::time_point round_deadline = round_start + longest;
      for (;;) {
        if (round->open == 0) break;
        const Steady::time_point t = Steady::now();
        Steady::time_point wake = round_deadline;
        int stuck = 0;  // lanes held by conditions that timed out
        for (Slot& s : round->slots) {
          if (s.abandoned && s.in_lane) ++stuck;
          if (s.finished || s.abandoned) continue;
          const Steady::time_point deadline =
              std::min(s.started ? s.start + s.timeout : t + s.timeout, round_deadline);
          if (t >= deadline || t >= round_deadline) {
            s.abandoned = true;
            --round->open;
            s.error = s.started
                          ? "condition timed out after " +
                                std::to_string(std::chrono::duration_cast<Ms>(s.timeout).count()) +
                                "ms"
                          : "condition not run: every condition thread is busy";
            if (s.in_lane) ++stuck;
            if (!s.started) s.rule->running.store(false, std::memory_order_release);
            continue;
          }
          wake = std::min(wake, deadline);
        }
        if (round->open == 0) break;
        // Conditions left to start and every lane held by a timed-out condition: add a lane.
        if (round->next < round->slots.size() && round->lanes_running <= stuck &&
            round->lanes_running < options.condition_threads + kSpareThreads) {
          lock.unlock();
          start_lane();
          lock.lock();
          continue;
        }
        round->cv.wait_until(lock, wake);
      }
      round->closed = true;
      // Unstarted slots the closed lanes will never run.
      for (size_t i = round->next; i < round->slots.size(); ++i) {
        if (!round->slots[i].abandoned) {
          round->slots[i].rule->running.store(false, std::memory_order_release);
        }
      }
    }

    // Apply the state machine to the C++ conditions' results.
    {
      std::lock_guard lock(mu);
      for (Slot& s : round->slots) {
        apply_one(s.rule, std::move(s.result), std::move(s.error),
                  std::chrono::duration_cast<std::chrono::nanoseconds>(s.took));
      }
      if (metrics.group_duration != nullptr) {
        for (const auto& [g, took] : group_took) {
          metrics.group_duration->labels(g).set(
              std::chrono::duration<double>(took.cpp + took.promql).count());
        }
      }
      // Silences past their retention.
      for (auto it = silences.begin(); it != silences.end();) {
        if (ts - it->second.silence.ends_at > kSilenceRetention) {
          if (options.state_sink != nullptr) options.state_sink->silence_deleted(it->first);
          it = silences.erase(it);
        } else {
          ++it;
        }
      }
      update_gauges(ts);
    }

    // Persist this round's changes in one transaction, off the manager's lock and this thread.
    if (store) store->round_done();
    deliver(notifications);
    return transitions;
  }

  void update_gauges(TimePoint ts) {
    if (metrics.alerts == nullptr) return;
    double pending = 0, firing = 0;
    for (const auto& r : rules) {
      for (const auto& [fp, a] : r->active) {
        pending += a.state == AlertState::kPending ? 1 : 0;
        firing += a.state == AlertState::kFiring ? 1 : 0;
      }
    }
    metrics.alerts->labels("pending").set(pending);
    metrics.alerts->labels("firing").set(firing);
    double counts[3] = {0, 0, 0};
    for (const auto& [id, s] : silences) ++counts[static_cast<int>(s.silence.state(ts))];
    metrics.silences->labels("pending").set(counts[0]);
    metrics.silences->labels("active").set(counts[1]);
    metrics.silences->labels("expired").set(counts[2]);
  }

  void deliver(const std::vector<Notification>& notifications) {
    if (notifications.empty()) return;
    std::vector<std::shared_ptr<AlertCallback>> cbs;
    {
      std::lock_guard lock(cb_mu);
      for (const auto& [id, cb] : callbacks) cbs.push_back(cb);
    }
    for (const Notification& n : notifications) {
      for (const auto& cb : cbs) {
        try {
          (*cb)(n);
        } catch (...) {
          if (metrics.callback_errors != nullptr) metrics.callback_errors->get().inc();
        }
      }
    }
  }

  void thread_main() {
    std::unique_lock lock(thread_mu);
    Steady::time_point next = Steady::now();
    while (!stop_requested) {
      if (thread_cv.wait_until(lock, next, [this] { return stop_requested; })) break;
      lock.unlock();
      try {
        run_round(false);
      } catch (...) {
        // bad_alloc or a vigil bug: keep the thread alive; the next round tries again.
      }
      lock.lock();
      next += options.evaluation_interval;
      const Steady::time_point t = Steady::now();
      if (next < t) next = t;  // a round longer than the interval: no burst of catch-up rounds
    }
  }
};

AlertManager::AlertManager(AlertManagerOptions options) {
  if (options.evaluation_interval < Ms(100)) {
    throw Error("alert manager: evaluation_interval must be at least 100ms");
  }
  if (options.condition_timeout <= Ms(0)) {
    throw Error("alert manager: condition_timeout must be positive");
  }
  if (options.evaluation_interval > kMaxOptionDuration ||
      options.condition_timeout > kMaxOptionDuration || options.resend_delay > kMaxOptionDuration ||
      options.resolved_retention > kMaxOptionDuration) {
    throw Error(
        "alert manager: evaluation_interval, condition_timeout, resend_delay and "
        "resolved_retention must not exceed 100 years");
  }
  if (options.condition_threads < 1 || options.condition_threads > 256) {
    throw Error("alert manager: condition_threads must be from 1 to 256");
  }
  for (const auto& [k, v] : options.external_labels) {
    if (!metrics::is_valid_label_name(k)) {
      throw Error("alert manager: invalid external label name \"" + k + "\"");
    }
  }
  std::unique_ptr<detail::StateStore> store;
  if (!options.state_path.empty()) {
    detail::StateStoreOptions so;
    so.history_limit = options.history_limit;
    so.self_metrics = options.self_metrics;
    so.next = options.state_sink;
    store = detail::StateStore::open(options.state_path, so);
    if (store->ok()) options.state_sink = store.get();
  }
  impl_ = std::make_shared<Impl>(std::move(options));
  impl_->init_metrics();
  if (store) {
    const bool usable = store->ok();
    impl_->store = std::move(store);
    if (usable) restore(impl_->store->load());
  }
}

bool AlertManager::flush_state() {
  if (!impl_->store) return true;
  return impl_->store->flush();
}

PersistenceStatus AlertManager::persistence_status() const {
  if (!impl_->store) return {};
  return impl_->store->status();
}

AlertManager::~AlertManager() {
  stop();
  impl_->pool.shutdown(Steady::now() + std::chrono::seconds(1));
}

AlertManager& AlertManager::global() {
  static AlertManager* manager = new AlertManager();
  return *manager;
}

const AlertManagerOptions& AlertManager::options() const noexcept { return impl_->options; }

void AlertManager::add_rule(AlertRule rule) {
  if (!rule.def()) throw Error("alert manager: add_rule of an empty rule");
  std::lock_guard lock(impl_->mu);
  for (const auto& r : impl_->rules) {
    if (r->def->name == rule.def()->name && r->def->group == rule.def()->group &&
        r->def->recording == rule.def()->recording && !rule.def()->recording) {
      throw Error("alert manager: a rule \"" + rule.def()->name + "\" exists in group \"" +
                  rule.def()->group + "\"");
    }
  }
  auto rs = std::make_shared<RuleState>();
  rs->def = rule.def();
  impl_->rules.push_back(std::move(rs));
  impl_->rules_changed = true;
}

void AlertManager::add_group(RuleGroup group) {
  if (group.name.empty()) throw Error("alert manager: a rule group needs a name");
  if (group.interval.count() != 0 && group.interval < Ms(100)) {
    throw Error("alert manager: group \"" + group.name + "\": interval must be at least 100ms");
  }
  // Compared with nanosecond time points: a longer interval would overflow (Prometheus' limit).
  if (group.interval > Ms(std::numeric_limits<int64_t>::max() / 1'000'000)) {
    throw Error("alert manager: group \"" + group.name + "\": interval must not exceed 292 years");
  }
  if (group.limit < 0) {
    throw Error("alert manager: group \"" + group.name + "\": limit must not be negative");
  }
  std::vector<std::shared_ptr<RuleState>> fresh;
  for (const AlertRule& r : group.rules) {
    if (!r.def()) throw Error("alert manager: group \"" + group.name + "\" has an empty rule");
    auto def = std::make_shared<detail::RuleDef>(*r.def());
    def->group = group.name;
    def->interval = group.interval;
    if (group.limit > 0) def->limit = group.limit;
    LabelList labels = group.labels;
    for (const auto& [k, v] : def->labels) set_label(labels, k, v);
    def->labels = std::move(labels);
    auto rs = std::make_shared<RuleState>();
    rs->def = std::move(def);
    fresh.push_back(std::move(rs));
  }
  std::lock_guard lock(impl_->mu);
  const TimePoint ts = impl_->now();
  // Alerts of a rule kept in the new group (same name, expression and labels) carry over, as
  // Prometheus does when it reloads a group.
  auto& rules = impl_->rules;
  for (auto& n : fresh) {
    for (const auto& old : rules) {
      if (old->def->group == group.name && old->def->name == n->def->name &&
          old->def->expr == n->def->expr && old->def->labels == n->def->labels &&
          old->def->recording == n->def->recording) {
        n->active = old->active;
        n->last_notified = old->last_notified;
        n->health = old->health;
        n->last_error = old->last_error;
        n->last_evaluation = old->last_evaluation;
        old->active.clear();
        break;
      }
    }
  }
  for (auto it = rules.begin(); it != rules.end();) {
    if ((*it)->def->group != group.name) {
      ++it;
      continue;
    }
    for (const auto& [fp, a] : (*it)->active) {
      if (a.state == AlertState::kPending || a.state == AlertState::kFiring) {
        impl_->add_history(Impl::history_of(a, ts, a.state == AlertState::kFiring));
      }
      impl_->sink_removed((*it)->def->name, fp);
    }
    if ((*it)->def->query) impl_->removed_query_rules.push_back((*it)->def);
    (*it)->removed = true;
    it = rules.erase(it);
  }
  for (auto& n : fresh) rules.push_back(std::move(n));
  impl_->rules_changed = true;
}

bool AlertManager::remove_rule(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  const TimePoint ts = impl_->now();
  bool found = false;
  for (auto it = impl_->rules.begin(); it != impl_->rules.end();) {
    if ((*it)->def->name != name) {
      ++it;
      continue;
    }
    found = true;
    for (const auto& [fp, a] : (*it)->active) {
      if (a.state == AlertState::kPending || a.state == AlertState::kFiring) {
        impl_->add_history(Impl::history_of(a, ts, a.state == AlertState::kFiring));
      }
      impl_->sink_removed((*it)->def->name, fp);
    }
    if ((*it)->def->query) impl_->removed_query_rules.push_back((*it)->def);
    (*it)->removed = true;
    it = impl_->rules.erase(it);
  }
  if (found) impl_->rules_changed = true;
  return found;
}

std::vector<AlertRule> AlertManager::rules() const {
  std::lock_guard lock(impl_->mu);
  std::vector<AlertRule> out;
  for (const auto& r : impl_->rules) out.emplace_back(r->def);
  return out;
}

std::vector<Transition> AlertManager::evaluate() { return impl_->run_round(true); }

void AlertManager::start() {
  std::thread stopped;
  {
    std::lock_guard lock(impl_->thread_mu);
    if (impl_->thread.joinable()) {
      if (!impl_->stop_requested || impl_->thread.get_id() == std::this_thread::get_id()) {
        impl_->stop_requested = false;  // undoes a stop() from a callback of this round
        impl_->running.store(true);
        return;
      }
      // Stopped from one of its callbacks: it ends after that round.
      stopped = std::move(impl_->thread);
    }
  }
  if (stopped.joinable()) stopped.join();
  std::lock_guard lock(impl_->thread_mu);
  if (impl_->thread.joinable()) return;  // started by another thread meanwhile
  impl_->stop_requested = false;
  impl_->thread = std::thread([impl = impl_.get()] { impl->thread_main(); });
  impl_->running.store(true);
}

void AlertManager::stop() {
  std::thread t;
  {
    std::lock_guard lock(impl_->thread_mu);
    impl_->stop_requested = true;
    // From a callback on the evaluation thread, which cannot wait for itself: the thread ends
    // after this round (a later stop(), start() or the destructor joins it).
    if (impl_->thread.get_id() != std::this_thread::get_id()) t = std::move(impl_->thread);
  }
  impl_->thread_cv.notify_all();
  if (t.joinable()) t.join();
  impl_->running.store(false);
}

bool AlertManager::running() const noexcept { return impl_->running.load(); }

std::vector<Alert> AlertManager::active_alerts(std::optional<Severity> severity) const {
  std::lock_guard lock(impl_->mu);
  std::vector<Alert> out;
  for (const auto& r : impl_->rules) {
    for (const auto& [fp, a] : r->active) {
      if (a.state != AlertState::kPending && a.state != AlertState::kFiring) continue;
      if (severity && a.severity != *severity) continue;
      out.push_back(a);
    }
  }
  return out;
}

std::vector<HistoryEntry> AlertManager::history(size_t limit) const {
  std::lock_guard lock(impl_->mu);
  std::vector<HistoryEntry> out;
  for (auto it = impl_->history.rbegin(); it != impl_->history.rend(); ++it) {
    if (limit > 0 && out.size() >= limit) break;
    out.push_back(*it);
  }
  return out;
}

namespace {
RuleStatus status_of(const RuleState& r) {
  RuleStatus s;
  s.name = r.def->name;
  s.group = r.def->group;
  s.expr = r.def->expr;
  s.recording = r.def->recording;
  s.health = r.health;
  s.last_error = r.last_error;
  s.last_evaluation = r.last_evaluation;
  s.evaluation_duration = r.duration;
  s.evaluations = r.evaluations;
  s.failures = r.failures;
  for (const auto& [fp, a] : r.active) {
    if (a.state == AlertState::kFiring) {
      s.state = AlertState::kFiring;
      ++s.active_alerts;
    } else if (a.state == AlertState::kPending) {
      if (s.state != AlertState::kFiring) s.state = AlertState::kPending;
      ++s.active_alerts;
    }
  }
  return s;
}
}  // namespace

std::vector<RuleStatus> AlertManager::rule_status() const {
  std::lock_guard lock(impl_->mu);
  std::vector<RuleStatus> out;
  for (const auto& r : impl_->rules) out.push_back(status_of(*r));
  return out;
}

std::optional<RuleStatus> AlertManager::rule_status(std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  for (const auto& r : impl_->rules) {
    if (r->def->name == name) return status_of(*r);
  }
  return std::nullopt;
}

int AlertManager::on_alert(AlertCallback callback) {
  if (!callback) throw Error("alert manager: on_alert needs a callback");
  std::lock_guard lock(impl_->cb_mu);
  const int id = impl_->next_callback_id++;
  impl_->callbacks.emplace_back(id, std::make_shared<AlertCallback>(std::move(callback)));
  return id;
}

bool AlertManager::remove_callback(int id) {
  std::lock_guard lock(impl_->cb_mu);
  auto& cbs = impl_->callbacks;
  auto it = std::find_if(cbs.begin(), cbs.end(), [id](const auto& c) { return c.first == id; });
  if (it == cbs.end()) return false;
  cbs.erase(it);
  return true;
}

namespace {
SilenceEntry compile_silence(Silence s) {
  if (s.matchers.empty()) throw Error("silence: at least one matcher is required");
  // Silence times are subtracted from the evaluation time (nanoseconds since 1970): earlier
  // times could overflow.
  if (s.starts_at < TimePoint{}) throw Error("silence: starts_at must not be before 1970");
  if (s.ends_at <= s.starts_at) throw Error("silence: ends_at must be after starts_at");
  SilenceEntry e;
  bool any_non_empty = false;
  for (const SilenceMatcher& m : s.matchers) {
    if (!metrics::is_valid_label_name(m.name) && m.name != "__name__") {
      throw Error("silence: invalid label name \"" + m.name + "\" in a matcher");
    }
    std::string re_error;
    std::optional<CompiledMatcher> compiled = detail::compile_matcher(m, &re_error);
    if (!compiled) {
      throw Error("silence: matcher " + m.name + std::string(to_string(m.type)) + "\"" + m.value +
                  "\": invalid regex: " + re_error);
    }
    CompiledMatcher c = std::move(*compiled);
    // Alertmanager refuses a silence whose matchers all match the empty string.
    if (!c.matches("")) any_non_empty = true;
    e.matchers.push_back(std::move(c));
  }
  if (!any_non_empty) throw Error("silence: at least one matcher must not match the empty string");
  e.silence = std::move(s);
  return e;
}
}  // namespace

std::string AlertManager::add_silence(Silence silence) {
  const TimePoint ts = impl_->now();
  if (silence.starts_at == TimePoint{}) silence.starts_at = ts;
  if (silence.id.empty()) silence.id = random_uuid();
  silence.updated_at = ts;
  SilenceEntry e = compile_silence(std::move(silence));
  std::lock_guard lock(impl_->mu);
  const std::string id = e.silence.id;
  if (impl_->options.state_sink != nullptr) impl_->options.state_sink->silence_changed(e.silence);
  impl_->silences[id] = std::move(e);
  for (const auto& r : impl_->rules) {
    for (auto& [fp, a] : r->active) impl_->mark_silenced(a, ts);
  }
  impl_->update_gauges(ts);
  return id;
}

std::string AlertManager::silence(std::string_view fingerprint, std::chrono::milliseconds duration,
                                  std::string created_by, std::string comment) {
  if (duration.count() <= 0) throw Error("silence: duration must be positive");
  std::optional<LabelList> labels;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& r : impl_->rules) {
      for (const auto& [fp, a] : r->active) {
        if (a.id == fingerprint || a.fingerprint_hex() == fingerprint) labels = a.labels;
      }
    }
    for (auto it = impl_->history.rbegin(); !labels && it != impl_->history.rend(); ++it) {
      if (it->id == fingerprint || fingerprint_hex(it->fingerprint) == fingerprint) {
        labels = it->labels;
      }
    }
    for (const auto& r : impl_->rules) {
      if (labels || !r->def->condition) break;
      std::string ignored;
      const LabelList own = alert_labels(*r->def, {}, nullptr, ignored);
      if (readable_id(*r->def, own) == fingerprint ||
          fingerprint_hex(label_fingerprint(own)) == fingerprint) {
        labels = own;
      }
    }
  }
  if (!labels) {
    throw Error("silence: no alert with fingerprint or id \"" + std::string(fingerprint) + "\"");
  }
  Silence s;
  for (const auto& [k, v] : *labels) s.matchers.push_back({k, MatchType::kEqual, v});
  s.starts_at = impl_->now();
  s.ends_at = s.starts_at + duration;
  s.created_by = std::move(created_by);
  s.comment = comment.empty() ? "silence(" + std::string(fingerprint) + ")" : std::move(comment);
  return add_silence(std::move(s));
}

bool AlertManager::expire_silence(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->silences.find(std::string(id));
  if (it == impl_->silences.end()) return false;
  const TimePoint ts = impl_->now();
  Silence& s = it->second.silence;
  if (s.state(ts) == SilenceState::kExpired) return false;
  if (s.starts_at > ts) s.starts_at = ts;  // a pending silence expires without starting
  s.ends_at = ts;
  s.updated_at = ts;
  if (impl_->options.state_sink != nullptr) impl_->options.state_sink->silence_changed(s);
  for (const auto& r : impl_->rules) {
    for (auto& [fp, a] : r->active) impl_->mark_silenced(a, ts);
  }
  impl_->update_gauges(ts);
  return true;
}

bool AlertManager::delete_silence(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  if (impl_->silences.erase(std::string(id)) == 0) return false;
  if (impl_->options.state_sink != nullptr) {
    impl_->options.state_sink->silence_deleted(std::string(id));
  }
  const TimePoint ts = impl_->now();
  for (const auto& r : impl_->rules) {
    for (auto& [fp, a] : r->active) impl_->mark_silenced(a, ts);
  }
  impl_->update_gauges(ts);
  return true;
}

std::vector<Silence> AlertManager::silences() const {
  std::lock_guard lock(impl_->mu);
  std::vector<Silence> out;
  for (const auto& [id, s] : impl_->silences) out.push_back(s.silence);
  return out;
}

void AlertManager::restore(RestoredState state) {
  std::vector<SilenceEntry> compiled;
  for (Silence& s : state.silences) {
    try {
      compiled.push_back(compile_silence(std::move(s)));
    } catch (const Error&) {
      // A stored silence that no longer validates is dropped.
    }
  }
  std::lock_guard lock(impl_->mu);
  for (SilenceEntry& e : compiled) {
    const std::string id = e.silence.id;
    impl_->silences[id] = std::move(e);
  }
  for (HistoryEntry& h : state.history) impl_->history.push_back(std::move(h));
  while (impl_->options.history_limit > 0 && impl_->history.size() > impl_->options.history_limit) {
    impl_->history.pop_front();
  }
  for (Alert& a : state.alerts) {
    const std::pair<std::string, uint64_t> key{a.name, a.fingerprint};
    impl_->restored[key] = std::move(a);
  }
}

}  // namespace vigil::alerting

namespace vigil::detail {

void ManagerAccess::use_storage(alerting::AlertManager& manager,
                                alerting::promql::MemoryStorage* storage) {
  std::lock_guard eval_lock(manager.impl_->eval_mu);
  manager.impl_->external_storage = storage;
  if (manager.impl_->engine) manager.impl_->engine->use_storage(storage);
}

}  // namespace vigil::detail
