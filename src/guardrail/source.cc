// LiveSource (vigil/guardrail/source.h): exact window counts from a registry's live families.
//
// Each sample() reads the request counter family and the latency histogram family through
// Registry::read_family (one pass over each family's series), sums the series of each cohort,
// and appends one cumulative point per cohort to that cohort's ring. Resets are absorbed per
// series: when a series' value goes down (it restarted) or the series disappears, the value it
// had is added to its cohort's offset, so a cohort's cumulative counts never go down and a
// window is always (latest point - start point), as Prometheus' increase() treats resets.
#include "vigil/guardrail/source.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "vigil/core/error.h"
#include "vigil/metrics/collector.h"
#include "vigil/metrics/registry.h"

namespace vigil::guardrail {
namespace {

using metrics::LabelValues;
using metrics::MetricType;

struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

uint64_t to_count(double v) noexcept { return v > 0 ? static_cast<uint64_t>(std::llround(v)) : 0; }

// Outcome classes of a request counter series.
constexpr uint8_t kSuccess = 1;
constexpr uint8_t kError = 2;
constexpr uint8_t kSuccessCounter =
    4;  // a series of the success counter (LiveSourceOptions::successes)

// Which family a ReadSink reads.
enum class Read { kRequests, kSuccesses, kLatency };

// Where a label's value comes from in one family: a label of the series or a constant label.
struct LabelSource {
  int index = -1;             // in the series' label values; -1: constant
  std::string_view constant;  // valid during the read only
  std::string_view get(LabelValues values) const noexcept {
    return index >= 0 ? values[static_cast<size_t>(index)] : constant;
  }
};

// One series as read (copied out of the sink call).
struct Row {
  uint32_t key_begin = 0, key_end = 0;        // identity: every label value, in the arena
  uint32_t cohort_begin = 0, cohort_end = 0;  // the cohort label's value, in the arena
  uint8_t cls = 0;                            // kSuccess | kError (counter rows)
  double value = 0;                           // counter value
  uint32_t buckets_begin = 0;                 // histogram rows: non-cumulative counts
};

// Reads one family into rows: checks its type and labels, applies the filter.
class ReadSink final : public metrics::MetricSink {
 public:
  ReadSink(const LiveSourceOptions& o, Read kind)
      : options_(o), latency_(kind == Read::kLatency), successes_(kind == Read::kSuccesses) {}

  void reset() {
    began_ = false;
    error_.clear();
    rows_.clear();
    arena_.clear();
    buckets_.clear();
    bounds_.clear();
  }

  bool wants_exemplars() const override { return false; }

  void begin_family(const metrics::FamilyDesc& f) override {
    began_ = true;
    const std::string_view what = latency_     ? "latency histogram "
                                  : successes_ ? "success counter "
                                               : "request counter ";
    const std::string name = latency_     ? options_.latency
                             : successes_ ? options_.successes
                                          : options_.requests;
    const MetricType want = latency_ ? MetricType::kHistogram : MetricType::kCounter;
    if (f.type != want) {
      error_ = std::string(what) + quoted(name) + " is a " + std::string(to_string(f.type)) +
               ", not a " + std::string(to_string(want));
      return;
    }
    auto resolve = [&](const std::string& label, LabelSource& out) {
      for (size_t i = 0; i < f.label_names.size(); ++i) {
        if (f.label_names[i] == label) {
          out.index = static_cast<int>(i);
          return true;
        }
      }
      for (const auto& [n, v] : f.const_labels) {
        if (n == label) {
          out.index = -1;
          out.constant = v;
          return true;
        }
      }
      std::string have;
      for (const auto& n : f.label_names) have += (have.empty() ? "" : ", ") + n;
      for (const auto& [n, v] : f.const_labels) have += (have.empty() ? "" : ", ") + n;
      error_ = std::string(what) + quoted(name) + " has no label " + quoted(label) +
               " (its labels: " + (have.empty() ? "none" : have) + ")";
      return false;
    };
    if (!latency_ && !successes_ && options_.successes.empty() &&
        !resolve(options_.outcome_label, outcome_)) {
      return;
    }
    if (!options_.cohort_label.empty() && !resolve(options_.cohort_label, cohort_)) return;
    filter_.resize(options_.filter.size());
    for (size_t i = 0; i < options_.filter.size(); ++i) {
      if (!resolve(options_.filter[i].first, filter_[i])) return;
    }
    label_count_ = f.label_names.size();
  }

  void counter(LabelValues labels, double value, double) override {
    if (!error_.empty() || !matches(labels)) return;
    uint8_t cls = 0;
    if (successes_) {
      cls = kSuccessCounter;
    } else if (options_.successes.empty()) {
      const std::string_view outcome = outcome_.get(labels);
      if (contains(options_.success_values, outcome)) {
        cls = kSuccess;
      } else if (options_.error_values.empty() || contains(options_.error_values, outcome)) {
        cls = kError;
      }
    }  // else a request of the total counter: its outcome is in the success counter
    Row& row = add(labels);
    row.cls = cls;
    row.value = value;
  }

  void histogram(LabelValues labels, const metrics::HistogramPoint& p) override {
    if (!error_.empty() || !matches(labels)) return;
    if (bounds_.empty() && !p.bounds.empty()) bounds_.assign(p.bounds.begin(), p.bounds.end());
    Row& row = add(labels);
    row.buckets_begin = static_cast<uint32_t>(buckets_.size());
    uint64_t previous = 0;
    for (uint64_t c : p.cumulative) {
      buckets_.push_back(c >= previous ? c - previous : 0);
      previous = std::max(previous, c);
    }
  }

  void gauge(LabelValues, double) override {}
  void summary(LabelValues, const metrics::SummaryPoint&) override {}
  void info(LabelValues) override {}
  void end_family() override {}

  bool began() const noexcept { return began_; }
  const std::string& error() const noexcept { return error_; }
  const std::vector<Row>& rows() const noexcept { return rows_; }
  std::string_view key(const Row& r) const noexcept {
    return std::string_view(arena_).substr(r.key_begin, r.key_end - r.key_begin);
  }
  std::string_view cohort(const Row& r) const noexcept {
    return std::string_view(arena_).substr(r.cohort_begin, r.cohort_end - r.cohort_begin);
  }
  std::span<const uint64_t> buckets(const Row& r) const noexcept {
    return std::span<const uint64_t>(buckets_).subspan(r.buckets_begin, bounds_.size() + 1);
  }
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  static bool contains(const std::vector<std::string>& list, std::string_view v) noexcept {
    return std::find(list.begin(), list.end(), v) != list.end();
  }
  bool matches(LabelValues labels) const noexcept {
    if (labels.size() != label_count_) return false;
    for (size_t i = 0; i < filter_.size(); ++i) {
      if (filter_[i].get(labels) != options_.filter[i].second) return false;
    }
    return true;
  }
  Row& add(LabelValues labels) {
    Row& row = rows_.emplace_back();
    row.key_begin = static_cast<uint32_t>(arena_.size());
    for (std::string_view v : labels) {  // length-prefixed: no separator can be forged
      const auto n = static_cast<uint32_t>(v.size());
      arena_.append(reinterpret_cast<const char*>(&n), sizeof n);
      arena_.append(v);
    }
    row.key_end = static_cast<uint32_t>(arena_.size());
    const std::string_view cohort =
        options_.cohort_label.empty() ? std::string_view() : cohort_.get(labels);
    row.cohort_begin = static_cast<uint32_t>(arena_.size());
    arena_.append(cohort);
    row.cohort_end = static_cast<uint32_t>(arena_.size());
    return row;
  }

  const LiveSourceOptions& options_;
  const bool latency_;
  const bool successes_;
  bool began_ = false;
  std::string error_;
  LabelSource outcome_, cohort_;
  std::vector<LabelSource> filter_;
  size_t label_count_ = 0;
  std::vector<Row> rows_;
  std::string arena_;
  std::vector<uint64_t> buckets_;
  std::vector<double> bounds_;
};

using Bounds = std::shared_ptr<const std::vector<double>>;

// One cumulative sample of a cohort.
struct Point {
  TimePoint time{};
  uint64_t requests = 0, successes = 0, errors = 0;
  Bounds bounds;                  // the latency histogram's bounds at that sample; null: none
  std::vector<uint64_t> buckets;  // cumulative over time, non-cumulative over buckets
};

struct Cohort {
  std::string name;
  std::deque<Point> ring;  // data_mu
  // Sampling state (sample_mu only).
  double requests = 0, successes = 0, errors = 0;              // this sample's sum of live series
  double off_requests = 0, off_successes = 0, off_errors = 0;  // absorbed resets
  std::vector<uint64_t> buckets, off_buckets;
  size_t live_series = 0;
  TimePoint last_live{};
};

struct SeriesState {
  Cohort* cohort = nullptr;  // null: its cohort is beyond max_cohorts (not tracked)
  uint8_t cls = 0;
  double value = 0;               // counter series
  std::vector<uint64_t> buckets;  // histogram series
  uint64_t epoch = 0;             // the last sample that saw it
};

}  // namespace

struct LiveSource::Impl {
  explicit Impl(const LiveSourceOptions& o)
      : options(o),
        registry(o.registry != nullptr ? o.registry : &metrics::Registry::global()),
        request_sink(o, Read::kRequests),
        success_sink(o, Read::kSuccesses),
        latency_sink(o, Read::kLatency) {}

  const LiveSourceOptions& options;
  metrics::Registry* registry;

  // ---- sampling (sample_mu) ----
  std::mutex sample_mu;
  ReadSink request_sink, success_sink, latency_sink;
  NameMap<SeriesState> request_series, success_series, latency_series;
  std::unordered_set<std::string> refused;  // cohorts not tracked (beyond max_cohorts)
  Bounds bounds;                            // the latency histogram's current bounds
  uint64_t epoch = 0;
  size_t width = 0;                          // bounds->size() + 1, or 0 without bounds
  std::vector<std::vector<uint64_t>> spare;  // bucket vectors of dropped points, reused

  // ---- what queries read (data_mu; written by sample() under both locks) ----
  mutable std::mutex data_mu;
  NameMap<std::unique_ptr<Cohort>> cohorts;
  bool sampled = false;
  TimePoint latest{};    // the latest sample
  TimePoint previous{};  // the sample before it (valid when has_previous)
  bool has_previous = false;
  uint64_t dropped = 0;

  Cohort* cohort_for(std::string_view name, TimePoint now);
  void absorb(SeriesState& s, bool latency);
  void apply(const ReadSink& sink, NameMap<SeriesState>& series, bool latency, TimePoint now);
  void commit(TimePoint now, bool same_time);
  std::optional<WindowCounts> window(const Cohort& c, TimePoint from, TimePoint to) const;
};

// The cohort called `name`, created if there is room (data_mu held by the caller).
Cohort* LiveSource::Impl::cohort_for(std::string_view name, TimePoint now) {
  auto it = cohorts.find(name);
  if (it != cohorts.end()) return it->second.get();
  if (cohorts.size() >= options.max_cohorts) {
    if (refused.insert(std::string(name)).second) ++dropped;
    return nullptr;
  }
  auto c = std::make_unique<Cohort>();
  c->name = std::string(name);
  c->last_live = now;
  c->buckets.assign(width, 0);
  c->off_buckets.assign(width, 0);
  Cohort* raw = c.get();
  cohorts.emplace(c->name, std::move(c));
  return raw;
}

// A series that restarted or disappeared: what it had counted stays in its cohort.
void LiveSource::Impl::absorb(SeriesState& s, bool latency) {
  if (s.cohort == nullptr) return;
  Cohort& c = *s.cohort;
  if (latency) {
    if (c.off_buckets.size() != s.buckets.size()) return;  // bounds changed: dropped already
    for (size_t i = 0; i < s.buckets.size(); ++i) c.off_buckets[i] += s.buckets[i];
    return;
  }
  if ((s.cls & kSuccessCounter) != 0) {
    c.off_successes += s.value;
    return;
  }
  c.off_requests += s.value;
  if ((s.cls & kSuccess) != 0) c.off_successes += s.value;
  if ((s.cls & kError) != 0) c.off_errors += s.value;
}

void LiveSource::Impl::apply(const ReadSink& sink, NameMap<SeriesState>& series, bool latency,
                             TimePoint now) {
  for (const Row& row : sink.rows()) {
    auto it = series.find(sink.key(row));
    if (it == series.end()) {
      SeriesState fresh;
      fresh.cohort = cohort_for(sink.cohort(row), now);
      fresh.cls = row.cls;
      it = series.emplace(std::string(sink.key(row)), std::move(fresh)).first;
    }
    SeriesState& s = it->second;
    s.epoch = epoch;
    if (s.cohort == nullptr) continue;
    Cohort& c = *s.cohort;
    ++c.live_series;
    if (latency) {
      const auto counts = sink.buckets(row);
      if (s.buckets.size() != width) s.buckets.assign(width, 0);
      bool reset = false;
      for (size_t i = 0; i < width; ++i) reset = reset || counts[i] < s.buckets[i];
      if (reset) absorb(s, true);
      s.buckets.assign(counts.begin(), counts.end());
      for (size_t i = 0; i < width; ++i) c.buckets[i] += counts[i];
    } else {
      if (row.value < s.value) absorb(s, false);
      s.value = row.value;
      if ((s.cls & kSuccessCounter) != 0) {
        c.successes += row.value;
        continue;
      }
      c.requests += row.value;
      if ((s.cls & kSuccess) != 0) c.successes += row.value;
      if ((s.cls & kError) != 0) c.errors += row.value;
    }
  }
  // Series gone since the last sample: keep what they counted.
  for (auto it = series.begin(); it != series.end();) {
    if (it->second.epoch != epoch) {
      absorb(it->second, latency);
      it = series.erase(it);
    } else {
      ++it;
    }
  }
}

// Appends (or, at the same time, replaces) one point per cohort; trims; forgets idle cohorts.
void LiveSource::Impl::commit(TimePoint now, bool same_time) {
  const auto retention = options.retention;
  bool forgot = false;
  for (auto it = cohorts.begin(); it != cohorts.end();) {
    Cohort& c = *it->second;
    if (c.live_series > 0) c.last_live = now;
    if (c.live_series == 0 && now - c.last_live > retention) {
      it = cohorts.erase(it);  // idle for longer than any window can reach
      forgot = true;
      continue;
    }
    ++it;
    // A cohort seen for the first time had nothing at the sample before.
    const bool have_before = same_time ? has_previous : sampled;
    const TimePoint before = same_time ? previous : latest;
    if (c.ring.empty() && have_before) c.ring.push_back(Point{before, 0, 0, 0, bounds, {}});
    if (same_time && !c.ring.empty() && c.ring.back().time == now) {
      spare.push_back(std::move(c.ring.back().buckets));
      c.ring.pop_back();
    }
    Point p;
    p.time = now;
    p.requests = to_count(c.requests + c.off_requests);
    p.successes = to_count(c.successes + c.off_successes);
    // With a success counter, errors are the requests it did not count.
    p.errors = options.successes.empty()
                   ? to_count(c.errors + c.off_errors)
                   : (p.requests >= p.successes ? p.requests - p.successes : 0);
    p.bounds = bounds;
    if (bounds) {
      if (!spare.empty()) {
        p.buckets = std::move(spare.back());
        spare.pop_back();
      }
      p.buckets.resize(c.buckets.size());
      for (size_t i = 0; i < c.buckets.size(); ++i) {
        p.buckets[i] = c.buckets[i] + c.off_buckets[i];
      }
    }
    c.ring.push_back(std::move(p));
    // Trim: at most max_samples; drop samples older than the retention, but keep the newest one
    // at or before (now - retention) so that a window of the whole retention stays exact.
    while (c.ring.size() > options.max_samples ||
           (c.ring.size() >= 2 && c.ring[1].time <= now - retention)) {
      if (c.ring.front().buckets.capacity() != 0 && spare.size() < 64) {
        spare.push_back(std::move(c.ring.front().buckets));
      }
      c.ring.pop_front();
    }
  }
  if (forgot && !refused.empty()) {
    // Room again: untracked series get a chance at the next sample.
    refused.clear();
    for (auto* series : {&request_series, &success_series, &latency_series}) {
      std::erase_if(*series, [](const auto& kv) { return kv.second.cohort == nullptr; });
    }
  }
}

std::optional<WindowCounts> LiveSource::Impl::window(const Cohort& c, TimePoint from,
                                                     TimePoint to) const {
  const auto& ring = c.ring;
  auto by_time = [](TimePoint t, const Point& p) { return t < p.time; };
  // The latest point at or before `to`.
  auto end = std::upper_bound(ring.begin(), ring.end(), to, by_time);
  if (end == ring.begin()) return std::nullopt;
  --end;
  // The latest point at or before `from`; the oldest kept when none is that old.
  auto start = std::upper_bound(ring.begin(), end + 1, from, by_time);
  if (start != ring.begin()) --start;
  if (start >= end) return std::nullopt;
  WindowCounts w;
  w.start = start->time;
  w.end = end->time;
  auto diff = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  w.requests = diff(end->requests, start->requests);
  w.successes = diff(end->successes, start->successes);
  w.errors = diff(end->errors, start->errors);
  // Latency when both points have the same bounds; a point without bounds (the histogram had
  // no series yet) or without buckets (a cohort's first, zero point) counts as zeros.
  if (end->bounds && (start->bounds == nullptr || start->bounds == end->bounds)) {
    w.bounds = *end->bounds;
    w.buckets.resize(end->buckets.size());
    for (size_t i = 0; i < w.buckets.size(); ++i) {
      w.buckets[i] = diff(end->buckets[i], i < start->buckets.size() ? start->buckets[i] : 0);
    }
  }
  return w;
}

LiveSource::LiveSource(LiveSourceOptions options) : options_(std::move(options)) {
  const LiveSourceOptions& o = options_;
  auto refuse = [](const std::string& rule) { throw Error("LiveSource: " + rule); };
  if (o.requests.empty()) refuse("`requests` (the request counter family's name) is required");
  if (!o.successes.empty() && !o.outcome_label.empty()) {
    refuse(
        "give either `outcome_label` (outcomes in the request counter) or `successes` (a "
        "counter of successful requests), not both");
  }
  if (o.successes.empty() && o.outcome_label.empty()) {
    refuse(
        "`outcome_label` (the label saying how a request ended) or `successes` (a counter of "
        "successful requests) is required");
  }
  if (!o.successes.empty() && o.successes == o.requests) {
    refuse("`successes` must be another family than `requests` (" + quoted(o.requests) + ")");
  }
  if (o.successes.empty() && o.success_values.empty()) {
    refuse("`success_values` needs at least one outcome value");
  }
  for (const std::string& v : o.error_values) {
    if (std::find(o.success_values.begin(), o.success_values.end(), v) != o.success_values.end()) {
      refuse("outcome value " + quoted(v) + " is in both success_values and error_values");
    }
  }
  if (o.retention.count() <= 0) refuse("`retention` must be positive");
  if (o.max_samples < 2) refuse("`max_samples` must be at least 2 (a window needs two samples)");
  if (o.max_cohorts < 1) refuse("`max_cohorts` must be at least 1");
  if (!o.outcome_label.empty() && o.cohort_label == o.outcome_label) {
    refuse("the cohort label cannot be the outcome label " + quoted(o.outcome_label));
  }
  for (size_t i = 0; i < o.filter.size(); ++i) {
    const auto& [label, value] = o.filter[i];
    if (label.empty()) refuse("a filter needs a label name");
    if (!o.outcome_label.empty() && label == o.outcome_label) {
      refuse("the filter on " + quoted(label) +
             " would drop outcomes: the outcome label cannot be filtered");
    }
    for (size_t j = 0; j < i; ++j) {
      if (o.filter[j].first == label && o.filter[j].second != value) {
        refuse("the filter asks " + quoted(label) + " to be both " + quoted(o.filter[j].second) +
               " and " + quoted(value));
      }
    }
  }
  impl_ = std::make_unique<Impl>(options_);
}

LiveSource::~LiveSource() = default;

bool LiveSource::sample(TimePoint now, std::string* error) {
  Impl& m = *impl_;
  std::lock_guard sampling(m.sample_mu);
  auto fail = [&](std::string why) {
    if (error != nullptr) *error = std::move(why);
    return false;
  };
  bool same_time;
  {
    std::lock_guard data(m.data_mu);
    same_time = m.sampled && now == m.latest;
    if (m.sampled && now < m.latest) {
      return fail("sample time went backwards (earlier than the latest sample): ignored");
    }
  }
  // Read both families before changing anything: a failed sample leaves no trace.
  m.request_sink.reset();
  if (!m.registry->read_family(options_.requests, m.request_sink)) {
    return fail("request counter " + quoted(options_.requests) + " is not registered");
  }
  if (!m.request_sink.error().empty()) return fail(m.request_sink.error());
  const bool success_counter = !options_.successes.empty();
  m.success_sink.reset();
  if (success_counter) {
    if (!m.registry->read_family(options_.successes, m.success_sink)) {
      return fail("success counter " + quoted(options_.successes) + " is not registered");
    }
    if (!m.success_sink.error().empty()) return fail(m.success_sink.error());
  }
  const bool latency = !options_.latency.empty();
  m.latency_sink.reset();
  if (latency) {
    if (!m.registry->read_family(options_.latency, m.latency_sink)) {
      return fail("latency histogram " + quoted(options_.latency) + " is not registered");
    }
    if (!m.latency_sink.error().empty()) return fail(m.latency_sink.error());
  }

  std::lock_guard data(m.data_mu);
  ++m.epoch;
  // The histogram's bounds are learnt from its series (none yet: no latency so far, which
  // windows read as zero counts). Other bounds than before (the family was registered anew):
  // latency counts restart, and windows across the change have no latency.
  if (latency && !m.latency_sink.rows().empty() &&
      (!m.bounds || *m.bounds != m.latency_sink.bounds())) {
    m.bounds = std::make_shared<const std::vector<double>>(m.latency_sink.bounds());
    m.latency_series.clear();
    for (auto& [name, c] : m.cohorts) c->off_buckets.assign(m.bounds->size() + 1, 0);
  }
  m.width = m.bounds ? m.bounds->size() + 1 : 0;
  for (auto& [name, c] : m.cohorts) {
    c->requests = c->successes = c->errors = 0;
    c->buckets.assign(m.width, 0);
    c->live_series = 0;
  }
  m.apply(m.request_sink, m.request_series, false, now);
  if (success_counter) m.apply(m.success_sink, m.success_series, false, now);
  if (latency) m.apply(m.latency_sink, m.latency_series, true, now);
  m.commit(now, same_time);
  if (!same_time) {
    m.has_previous = m.sampled;
    m.previous = m.latest;
  }
  m.latest = now;
  m.sampled = true;
  return true;
}

std::optional<WindowCounts> LiveSource::window(std::string_view cohort, TimePoint from,
                                               TimePoint to) const {
  std::lock_guard lock(impl_->data_mu);
  auto it = impl_->cohorts.find(cohort);
  if (it == impl_->cohorts.end()) return std::nullopt;
  return impl_->window(*it->second, from, to);
}

std::optional<WindowCounts> LiveSource::last(std::string_view cohort,
                                             std::chrono::milliseconds length) const {
  std::lock_guard lock(impl_->data_mu);
  if (!impl_->sampled) return std::nullopt;
  auto it = impl_->cohorts.find(cohort);
  if (it == impl_->cohorts.end()) return std::nullopt;
  return impl_->window(*it->second, impl_->latest - length, impl_->latest);
}

std::optional<WindowCounts> LiveSource::since(std::string_view cohort, TimePoint start) const {
  std::lock_guard lock(impl_->data_mu);
  if (!impl_->sampled) return std::nullopt;
  auto it = impl_->cohorts.find(cohort);
  if (it == impl_->cohorts.end()) return std::nullopt;
  return impl_->window(*it->second, start, impl_->latest);
}

std::vector<std::string> LiveSource::cohorts() const {
  std::lock_guard lock(impl_->data_mu);
  std::vector<std::string> out;
  out.reserve(impl_->cohorts.size());
  for (const auto& [name, c] : impl_->cohorts) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t LiveSource::dropped_cohorts() const {
  std::lock_guard lock(impl_->data_mu);
  return impl_->dropped;
}

}  // namespace vigil::guardrail
