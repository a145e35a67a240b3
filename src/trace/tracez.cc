// TracezStore and TracezProcessor: running spans, latency buckets and errors per span name.
#include "vigil/trace/tracez.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "internal.h"

namespace vigil::trace {
namespace {

constexpr std::size_t kShards = 16;

struct NameEntry {
  explicit NameEntry(std::string n, const TracezOptions& o) : name(std::move(n)) {
    for (auto& ring : samples) ring.resize(o.samples_per_bucket);
    errors.resize(o.errors_per_name);
  }
  const std::string name;
  std::atomic<uint64_t> running{0};
  std::mutex mutex;  // guards what follows
  std::array<uint64_t, kTracezBuckets> counts{};
  uint64_t error_count = 0;
  std::array<std::vector<SpanRef>, kTracezBuckets> samples;  // rings
  std::array<std::size_t, kTracezBuckets> next{};            // next slot of each ring
  std::vector<SpanRef> errors;                               // ring
  std::size_t next_error = 0;
};

struct RunningSlot {
  const SpanData* data = nullptr;
  NameEntry* entry = nullptr;
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_nanos = 0;
};

struct Shard {
  std::mutex mutex;
  std::vector<RunningSlot> slots;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>()(s);
  }
};

// Puts `ref` into `ring` at `next` (advancing it); returns the reference it replaces, to be
// released outside the lock.
SpanRef put(std::vector<SpanRef>& ring, std::size_t& next, SpanRef ref) noexcept {
  if (ring.empty()) return ref;
  SpanRef old = std::move(ring[next]);
  ring[next] = std::move(ref);
  next = (next + 1) % ring.size();
  return old;
}

// Clones of the live elements of a ring, newest first.
void copy_ring(const std::vector<SpanRef>& ring, std::size_t next, std::vector<SpanData>& out) {
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const std::size_t at = (next + ring.size() - 1 - i) % ring.size();
    if (ring[at]) out.push_back(ring[at]->clone());
  }
}

// Saturating decrement.
void decrement(std::atomic<uint64_t>& v) noexcept {
  uint64_t cur = v.load(std::memory_order_relaxed);
  while (cur > 0 && !v.compare_exchange_weak(cur, cur - 1, std::memory_order_relaxed)) {
  }
}

}  // namespace

struct TracezStore::State {
  explicit State(TracezOptions o) : options(o) {
    for (Shard& s : shards) s.slots.reserve(options.max_running / kShards + 4);
  }
  const TracezOptions options;
  mutable std::shared_mutex names_mutex;
  std::unordered_map<std::string, std::unique_ptr<NameEntry>, StringHash, std::equal_to<>> names;
  std::array<Shard, kShards> shards;
  std::atomic<std::size_t> running_tracked{0};
  std::atomic<uint64_t> running_untracked{0};
  std::atomic<uint64_t> spans_untracked{0};
  std::atomic<bool> keep_samples{true};

  Shard& shard(const SpanId& id) noexcept {
    return shards[static_cast<std::size_t>(id.to_u64() % kShards)];
  }

  // The entry for `name`, created when there is room; nullptr otherwise.
  NameEntry* entry(std::string_view name) noexcept {
    {
      std::shared_lock lock(names_mutex);
      auto it = names.find(name);
      if (it != names.end()) return it->second.get();
      if (names.size() >= options.max_span_names) return nullptr;
    }
    try {
      std::unique_lock lock(names_mutex);
      auto it = names.find(name);
      if (it != names.end()) return it->second.get();
      if (names.size() >= options.max_span_names) return nullptr;
      auto e = std::make_unique<NameEntry>(std::string(name), options);
      NameEntry* raw = e.get();
      names.emplace(std::string(name), std::move(e));
      return raw;
    } catch (...) {
      return nullptr;  // std::bad_alloc: the span is counted as untracked
    }
  }
};

std::string_view tracez_bucket_label(std::size_t bucket) noexcept {
  static constexpr std::array<std::string_view, kTracezBuckets> kLabels = {
      "[0,10us)",   "[10us,100us)", "[100us,1ms)", "[1ms,10ms)", "[10ms,100ms)",
      "[100ms,1s)", "[1s,10s)",     "[10s,100s)",  "[100s,inf)"};
  return bucket < kTracezBuckets ? kLabels[bucket] : std::string_view();
}

std::size_t tracez_bucket(uint64_t duration_nanos) noexcept {
  std::size_t b = 0;
  while (b + 1 < kTracezBuckets && duration_nanos >= kTracezBucketBoundsNanos[b + 1]) ++b;
  return b;
}

TracezStore::TracezStore(TracezOptions options) : state_(std::make_unique<State>(options)) {}
TracezStore::~TracezStore() = default;

const TracezOptions& TracezStore::options() const noexcept { return state_->options; }

void TracezStore::span_started(const SpanData& span) noexcept {
  State& st = *state_;
  NameEntry* e = st.entry(span.name);
  if (e == nullptr ||
      st.running_tracked.fetch_add(1, std::memory_order_relaxed) >= st.options.max_running) {
    if (e != nullptr) st.running_tracked.fetch_sub(1, std::memory_order_relaxed);
    st.running_untracked.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  RunningSlot slot;
  slot.data = &span;
  slot.entry = e;
  slot.trace_id = span.context.trace_id;
  slot.span_id = span.context.span_id;
  slot.parent_span_id = span.parent_span_id;
  slot.kind = span.kind;
  slot.start_unix_nanos = span.start_unix_nanos;
  Shard& sh = st.shard(span.context.span_id);
  try {
    std::lock_guard lock(sh.mutex);
    sh.slots.push_back(slot);
  } catch (...) {
    st.running_tracked.fetch_sub(1, std::memory_order_relaxed);
    st.running_untracked.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  e->running.fetch_add(1, std::memory_order_relaxed);
}

void TracezStore::span_ended(SpanRef ref) noexcept {
  State& st = *state_;
  const SpanData& d = *ref;
  NameEntry* started_as = nullptr;
  bool tracked = false;
  {
    Shard& sh = st.shard(d.context.span_id);
    std::lock_guard lock(sh.mutex);
    for (std::size_t i = 0; i < sh.slots.size(); ++i) {
      RunningSlot& s = sh.slots[i];
      if (s.data == &d && s.span_id == d.context.span_id) {
        started_as = s.entry;
        tracked = true;
        s = sh.slots.back();
        sh.slots.pop_back();
        break;
      }
    }
  }
  if (tracked) {
    st.running_tracked.fetch_sub(1, std::memory_order_relaxed);
    started_as->running.fetch_sub(1, std::memory_order_relaxed);
  } else {
    decrement(st.running_untracked);
  }
  NameEntry* e =
      started_as != nullptr && started_as->name == d.name ? started_as : st.entry(d.name);
  if (e == nullptr) {
    st.spans_untracked.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool keep = st.keep_samples.load(std::memory_order_relaxed);
  SpanRef replaced;
  {
    std::lock_guard lock(e->mutex);
    if (d.status.code == StatusCode::kError) {
      ++e->error_count;
      if (keep) replaced = put(e->errors, e->next_error, std::move(ref));
    } else {
      const std::size_t b = tracez_bucket(d.duration_nanos());
      ++e->counts[b];
      if (keep) replaced = put(e->samples[b], e->next[b], std::move(ref));
    }
  }
  // `replaced` and `ref` (when not kept) are released here, outside the lock.
}

void TracezStore::release_samples() noexcept {
  State& st = *state_;
  st.keep_samples.store(false, std::memory_order_relaxed);
  std::shared_lock lock(st.names_mutex);
  for (auto& [name, e] : st.names) {
    std::lock_guard entry_lock(e->mutex);
    for (auto& ring : e->samples) {
      for (SpanRef& r : ring) r.reset();
    }
    for (SpanRef& r : e->errors) r.reset();
  }
}

TracezSnapshot TracezStore::snapshot(const TracezQuery& query) const {
  const State& st = *state_;
  TracezSnapshot out;
  out.time_unix_nanos = detail::now_unix_nanos();
  out.options = st.options;
  out.running_untracked = st.running_untracked.load(std::memory_order_relaxed);
  out.spans_untracked = st.spans_untracked.load(std::memory_order_relaxed);

  for (Shard& sh : state_->shards) {
    std::lock_guard lock(sh.mutex);
    for (const RunningSlot& s : sh.slots) {
      TracezRunningSpan r;
      r.name = s.entry->name;
      r.trace_id = s.trace_id;
      r.span_id = s.span_id;
      r.parent_span_id = s.parent_span_id;
      r.kind = s.kind;
      r.start_unix_nanos = s.start_unix_nanos;
      out.running.push_back(std::move(r));
    }
  }
  std::sort(out.running.begin(), out.running.end(),
            [](const TracezRunningSpan& a, const TracezRunningSpan& b) {
              return a.start_unix_nanos < b.start_unix_nanos;
            });
  if (out.running.size() > query.max_running) out.running.resize(query.max_running);

  std::shared_lock names_lock(st.names_mutex);
  // Newest error end times, to clone only the errors that make the cut.
  std::vector<uint64_t> error_ends;
  for (const auto& [name, e] : st.names) {
    TracezNameSummary s;
    s.name = name;
    s.running = e->running.load(std::memory_order_relaxed);
    std::lock_guard lock(e->mutex);
    s.latency_counts = e->counts;
    s.error_count = e->error_count;
    if (!query.name.empty() && query.name == name) {
      for (std::size_t b = 0; b < kTracezBuckets; ++b) {
        copy_ring(e->samples[b], e->next[b], s.latency_samples[b]);
      }
      copy_ring(e->errors, e->next_error, s.error_samples);
    }
    for (const SpanRef& r : e->errors) {
      if (r) error_ends.push_back(r->end_unix_nanos);
    }
    out.names.push_back(std::move(s));
  }
  std::sort(out.names.begin(), out.names.end(),
            [](const TracezNameSummary& a, const TracezNameSummary& b) { return a.name < b.name; });
  if (query.max_recent_errors > 0 && !error_ends.empty()) {
    std::sort(error_ends.begin(), error_ends.end(), std::greater<>());
    const uint64_t cut = error_ends[std::min(query.max_recent_errors, error_ends.size()) - 1];
    for (const auto& [name, e] : st.names) {
      std::lock_guard lock(e->mutex);
      for (const SpanRef& r : e->errors) {
        if (r && r->end_unix_nanos >= cut) out.recent_errors.push_back(r->clone());
      }
    }
    std::sort(
        out.recent_errors.begin(), out.recent_errors.end(),
        [](const SpanData& a, const SpanData& b) { return a.end_unix_nanos > b.end_unix_nanos; });
    if (out.recent_errors.size() > query.max_recent_errors) {
      out.recent_errors.resize(query.max_recent_errors);
    }
  }
  return out;
}

// ---- TracezProcessor ----

TracezProcessor::TracezProcessor(TracezOptions options)
    : store_(std::make_shared<TracezStore>(options)) {}
TracezProcessor::TracezProcessor(std::shared_ptr<TracezStore> store) : store_(std::move(store)) {
  if (!store_) store_ = std::make_shared<TracezStore>();
}
TracezProcessor::~TracezProcessor() { store_->release_samples(); }

void TracezProcessor::on_start(const SpanData& span) noexcept { store_->span_started(span); }
void TracezProcessor::on_end(SpanRef span) noexcept { store_->span_ended(std::move(span)); }
bool TracezProcessor::force_flush(std::chrono::milliseconds) noexcept { return true; }
bool TracezProcessor::shutdown(std::chrono::milliseconds) noexcept {
  store_->release_samples();
  return true;
}

}  // namespace vigil::trace
