// src/alerting/promql/storage.cc: MemoryStorage, the in-memory series store selectors read.
//
// Series live in creation order (as in Prometheus' head block, whose postings are ordered by
// series reference); a hash map finds a series by its label set and an index from __name__ to
// series lets a selector with a name matcher skip every other metric. select() copies only the
// samples inside the requested window.
//
// A series' samples are kept in chunks of 64: timestamps as 32-bit offsets from the chunk's first
// timestamp, values as doubles, 12 bytes per sample (a chunk ends early when an offset would not
// fit). Appending at the end and trimming at the front (what the rule engine does every round)
// move nothing, and memory grows a chunk at a time, with at most two partly used chunks per series
// (a vector would keep up to twice the samples it holds as spare capacity, and memmove the whole
// series on every trim).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alerting/promql/eval.h"

namespace vigil::alerting::promql {

namespace {

constexpr uint32_t kChunkSamples = 64;
constexpr uint64_t kMaxOffset = std::numeric_limits<uint32_t>::max();

// b - a for a <= b, without signed overflow (the times may span the whole int64 range).
inline uint64_t span(int64_t a, int64_t b) noexcept {
  return static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
}

struct Chunk {
  int64_t base = 0;  // the first sample's time
  uint32_t n = 0;    // samples written
  uint32_t dt[kChunkSamples];
  double v[kChunkSamples];
  int64_t t(uint32_t i) const noexcept {
    return static_cast<int64_t>(static_cast<uint64_t>(base) + dt[i]);  // never past the int64 range
  }
  // First index in [from, n) whose time is >= t.
  uint32_t lower(uint32_t from, int64_t t) const noexcept {
    if (t <= base) return from;
    if (span(base, t) > kMaxOffset) return n;
    const auto x = static_cast<uint32_t>(span(base, t));
    return static_cast<uint32_t>(std::lower_bound(dt + from, dt + n, x) - dt);
  }
  // First index in [from, n) whose time is > t.
  uint32_t upper(uint32_t from, int64_t t) const noexcept {
    if (t < base) return from;
    if (span(base, t) >= kMaxOffset) return n;
    const auto x = static_cast<uint32_t>(span(base, t));
    return static_cast<uint32_t>(std::upper_bound(dt + from, dt + n, x) - dt);
  }
};

// Samples in time order, in chunks (oldest first); samples of chunks[0] before `first` are gone.
class SampleList {
 public:
  bool empty() const noexcept { return size_ == 0; }
  size_t size() const noexcept { return size_; }
  int64_t last_t() const noexcept {
    const Chunk& c = *chunks_.back();
    return c.t(c.n - 1);
  }
  void push_back(int64_t t, double v) {
    if (chunks_.empty() || chunks_.back()->n == kChunkSamples ||
        span(chunks_.back()->base, t) > kMaxOffset) {
      auto c = std::make_unique<Chunk>();
      c->base = t;
      chunks_.push_back(std::move(c));
    }
    Chunk& c = *chunks_.back();
    c.dt[c.n] = static_cast<uint32_t>(span(c.base, t));
    c.v[c.n] = v;
    ++c.n;
    ++size_;
  }
  // Drops the samples older than `t`; returns how many.
  size_t trim_before(int64_t t) {
    size_t dropped = 0, whole = 0;
    while (whole < chunks_.size()) {
      const Chunk& c = *chunks_[whole];
      const uint32_t from = whole == 0 ? first_ : 0;
      if (c.t(c.n - 1) < t) {
        dropped += c.n - from;
        ++whole;
        continue;
      }
      const uint32_t i = c.lower(from, t);
      dropped += i - from;
      first_ = i;
      break;
    }
    if (whole > 0) {
      chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(whole));
      if (chunks_.empty()) first_ = 0;
    }
    size_ -= dropped;
    return dropped;
  }
  // Appends the samples with mint <= t <= maxt (one allocation at most).
  void copy(int64_t mint, int64_t maxt, std::vector<Sample>& out) const {
    for (int pass = 0; pass < 2; ++pass) {
      size_t count = 0;
      for (size_t k = 0; k < chunks_.size(); ++k) {
        const Chunk& c = *chunks_[k];
        const uint32_t from = k == 0 ? first_ : 0;
        if (from >= c.n || c.t(c.n - 1) < mint) continue;
        if (c.t(from) > maxt) break;
        const uint32_t lo = c.lower(from, mint);
        const uint32_t hi = c.upper(lo, maxt);
        if (pass == 0) {
          count += hi - lo;
          continue;
        }
        for (uint32_t i = lo; i < hi; ++i) out.push_back(Sample{c.t(i), c.v[i]});
      }
      if (pass == 0) {
        if (count == 0) return;
        out.reserve(out.size() + count);
      }
    }
  }
  // Writes the samples with mint <= t <= maxt (without stale markers when `skip_stale`) to
  // buf[0, n) and returns n. `buf` is the caller's, reused across series: it only grows (its
  // size is its capacity), so once it holds a window there is no allocation, and the loop is a
  // plain copy without a capacity check per sample.
  size_t read(int64_t mint, int64_t maxt, bool skip_stale, std::vector<Sample>& buf) const {
    size_t n = 0;
    for (size_t k = 0; k < chunks_.size(); ++k) {
      const Chunk& c = *chunks_[k];
      const uint32_t from = k == 0 ? first_ : 0;
      if (from >= c.n || c.t(c.n - 1) < mint) continue;
      if (c.t(from) > maxt) break;
      const uint32_t lo = c.lower(from, mint);
      const uint32_t hi = c.upper(lo, maxt);
      if (buf.size() < n + (hi - lo)) buf.resize(std::max<size_t>(n + (hi - lo), 2 * buf.size()));
      Sample* o = buf.data() + n;
      const uint64_t base = static_cast<uint64_t>(c.base);
      for (uint32_t i = lo; i < hi; ++i) {
        const double v = c.v[i];
        o->t = static_cast<int64_t>(base + c.dt[i]);
        o->v = v;
        o += skip_stale && is_stale_nan(v) ? 0 : 1;
      }
      n = static_cast<size_t>(o - buf.data());
    }
    return n;
  }
  // The last sample with mint <= t <= maxt, if any.
  bool last_in(int64_t mint, int64_t maxt, Sample& out) const noexcept {
    for (size_t k = chunks_.size(); k-- > 0;) {
      const Chunk& c = *chunks_[k];
      const uint32_t from = k == 0 ? first_ : 0;
      if (from >= c.n || c.t(from) > maxt) continue;
      const uint32_t hi = c.upper(from, maxt);  // > from: the chunk's first sample is <= maxt
      const int64_t t = c.t(hi - 1);
      if (t < mint) return false;
      out = Sample{t, c.v[hi - 1]};
      return true;
    }
    return false;
  }
  size_t bytes() const noexcept {
    return chunks_.size() * sizeof(Chunk) + chunks_.capacity() * sizeof(void*);
  }

 private:
  std::vector<std::unique_ptr<Chunk>> chunks_;
  uint32_t first_ = 0;
  size_t size_ = 0;
};

struct SeriesData {
  uint64_t seq = 0;                 // creation order
  SeriesData* same_hash = nullptr;  // the next series whose label set has the same hash
  Labels labels;
  SampleList samples;
};

// One hash over all names and values (one pass of std::hash over a reused buffer is cheaper than
// combining a hash per string).
size_t hash_labels(const Labels& labels) {
  thread_local std::string buf;
  buf.clear();
  for (const auto& [name, value] : labels) {
    buf += name;
    buf += '\xff';
    buf += value;
    buf += '\xff';
  }
  return std::hash<std::string_view>{}(buf);
}

size_t labels_bytes(const Labels& labels) noexcept {
  size_t n = labels.capacity() * sizeof(Labels::value_type);
  for (const auto& [name, value] : labels) {
    // Strings beyond the small-string buffer hold a heap block.
    if (name.capacity() > 15) n += name.capacity() + 1;
    if (value.capacity() > 15) n += value.capacity() + 1;
  }
  return n;
}

}  // namespace

struct MemoryStorage::Impl {
  // Creation order; never holds null.
  std::vector<std::unique_ptr<SeriesData>> series;
  // Label-set hash -> series; series with colliding hashes are chained by `same_hash`.
  std::unordered_map<size_t, SeriesData*> by_labels;
  std::unordered_map<std::string, std::vector<SeriesData*>> by_name;
  // "name\xffvalue" -> series with that label (other than __name__), in creation order: a
  // selector with an equality matcher on any label reads only the shortest such list.
  std::unordered_map<std::string, std::vector<SeriesData*>> postings;
  size_t postings_entries = 0;
  size_t samples = 0;
  uint64_t next_seq = 0;
  // Changes (to a value no storage of the process had) whenever a series is removed, which
  // invalidates every SeriesRef handed out before.
  uint64_t generation = new_generation();

  static uint64_t new_generation() noexcept {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  // The series with `labels`, created (and indexed) when new.
  SeriesData* find_or_create(const Labels& labels);

  // Calls fn(const SeriesData*) for every series matching all `matchers`, in creation order:
  // the candidates of the equality matchers (their postings intersected), or of a name regex,
  // or every series, each tested against the matchers not known to hold.
  template <class Fn>
  void for_each_match(std::span<const Matcher> matchers, Fn&& fn) const;

  // `known`: bit i set when every candidate is known to satisfy matchers[i] (i < 64).
  static bool matches(const SeriesData* s, std::span<const Matcher> matchers, uint64_t known) {
    for (size_t i = 0; i < matchers.size(); ++i) {
      if (i < 64 && (known >> i & 1) != 0) continue;
      const Matcher& m = matchers[i];
      if (!m.matches(label_value(s->labels, m.name))) return false;
    }
    return true;
  }
};

MemoryStorage::MemoryStorage() : impl_(std::make_unique<Impl>()) {}
MemoryStorage::~MemoryStorage() = default;
MemoryStorage::MemoryStorage(MemoryStorage&&) noexcept = default;
MemoryStorage& MemoryStorage::operator=(MemoryStorage&&) noexcept = default;

SeriesData* MemoryStorage::Impl::find_or_create(const Labels& labels) {
  size_t h = hash_labels(labels);
  auto [slot, inserted] = by_labels.try_emplace(h, nullptr);
  SeriesData* s = slot->second;
  while (s != nullptr && s->labels != labels) s = s->same_hash;
  if (s != nullptr) return s;
  auto owned = std::make_unique<SeriesData>();
  owned->labels = labels;
  owned->seq = next_seq++;
  s = owned.get();
  series.push_back(std::move(owned));
  s->same_hash = slot->second;
  slot->second = s;
  by_name[std::string(label_value(labels, "__name__"))].push_back(s);
  std::string key;
  for (const auto& [name, value] : labels) {
    if (name == "__name__") continue;
    key.assign(name);
    key += '\xff';
    key += value;
    postings[key].push_back(s);
    ++postings_entries;
  }
  return s;
}

bool MemoryStorage::append(const Labels& labels, int64_t t, double v) {
  SeriesRef ref;
  return append(labels, t, v, ref);
}

bool MemoryStorage::append(const Labels& labels, int64_t t, double v, SeriesRef& ref) {
  SeriesData* s;
  if (ref.series != nullptr && ref.generation == impl_->generation) {
    s = static_cast<SeriesData*>(const_cast<void*>(ref.series));
  } else {
    s = impl_->find_or_create(labels);
    ref.series = s;
    ref.generation = impl_->generation;
  }
  if (!s->samples.empty() && s->samples.last_t() >= t) return false;
  s->samples.push_back(t, v);
  ++impl_->samples;
  return true;
}

size_t MemoryStorage::trim_before(int64_t t) {
  size_t dropped = 0;
  bool any_removed = false;
  for (auto& s : impl_->series) {
    SampleList& v = s->samples;
    const size_t n = v.trim_before(t);
    if (n == 0) continue;
    dropped += n;
    if (v.empty()) {
      auto it = impl_->by_labels.find(hash_labels(s->labels));
      if (it != impl_->by_labels.end()) {
        SeriesData** p = &it->second;
        while (*p != nullptr && *p != s.get()) p = &(*p)->same_hash;
        if (*p != nullptr) *p = s->same_hash;
        if (it->second == nullptr) impl_->by_labels.erase(it);
      }
      any_removed = true;
    }
  }
  impl_->samples -= dropped;
  if (any_removed) {
    impl_->generation = Impl::new_generation();
    auto empty = [](const SeriesData* s) { return s->samples.empty(); };
    for (auto it = impl_->by_name.begin(); it != impl_->by_name.end();) {
      std::erase_if(it->second, empty);
      it = it->second.empty() ? impl_->by_name.erase(it) : std::next(it);
    }
    for (auto it = impl_->postings.begin(); it != impl_->postings.end();) {
      impl_->postings_entries -= std::erase_if(it->second, empty);
      it = it->second.empty() ? impl_->postings.erase(it) : std::next(it);
    }
    std::erase_if(impl_->series,
                  [](const std::unique_ptr<SeriesData>& s) { return s->samples.empty(); });
  }
  return dropped;
}

void MemoryStorage::clear() {
  impl_->generation = Impl::new_generation();
  impl_->by_labels.clear();
  impl_->by_name.clear();
  impl_->postings.clear();
  impl_->postings_entries = 0;
  impl_->series.clear();
  impl_->samples = 0;
}

size_t MemoryStorage::series_count() const noexcept { return impl_->series.size(); }
size_t MemoryStorage::sample_count() const noexcept { return impl_->samples; }

size_t MemoryStorage::memory_bytes() const noexcept {
  size_t n = 0;
  for (const auto& s : impl_->series) {
    n += s->samples.bytes() + labels_bytes(s->labels) + sizeof(SeriesData);
  }
  return n + impl_->postings_entries * sizeof(SeriesData*);
}

void Storage::select_without_name(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                                  Matrix& out) const {
  const size_t from = out.size();
  select(matchers, mint, maxt, out);
  for (size_t i = from; i < out.size(); ++i) {
    std::erase_if(out[i].labels, [](const auto& kv) { return kv.first == "__name__"; });
  }
}

void Storage::visit_impl(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                         Window window, VisitFn fn, void* ctx) const {
  Matrix m;
  select(matchers, mint, maxt, m);
  for (Series& s : m) {
    if (window == Window::kNoStale) {
      std::erase_if(s.samples, [](const Sample& x) { return is_stale_nan(x.v); });
    } else if (window == Window::kLast && s.samples.size() > 1) {
      s.samples.erase(s.samples.begin(), s.samples.end() - 1);
    }
    if (!s.samples.empty()) fn(ctx, s.labels, s.samples);
  }
}

void MemoryStorage::select(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                           Matrix& out) const {
  select_impl(matchers, mint, maxt, out, false);
}

void MemoryStorage::select_without_name(std::span<const Matcher> matchers, int64_t mint,
                                        int64_t maxt, Matrix& out) const {
  select_impl(matchers, mint, maxt, out, true);
}

template <class Fn>
void MemoryStorage::Impl::for_each_match(std::span<const Matcher> matchers, Fn&& fn) const {
  const Matcher* name_eq = nullptr;
  const Matcher* name_other = nullptr;
  for (const Matcher& m : matchers) {
    if (m.name != "__name__") continue;
    if (m.op == MatchOp::kEqual) {
      name_eq = &m;
      break;
    }
    if (name_other == nullptr) name_other = &m;
  }
  // The candidate lists of the equality matchers (each in creation order), intersected.
  std::vector<const std::vector<SeriesData*>*> lists;
  uint64_t known = 0;
  std::string key;
  for (size_t i = 0; i < matchers.size(); ++i) {
    const Matcher& m = matchers[i];
    if (m.op != MatchOp::kEqual) continue;
    if (m.name == "__name__") {
      if (&m != name_eq) continue;
      auto it = by_name.find(m.value);
      if (it == by_name.end()) return;
      lists.push_back(&it->second);
    } else {
      if (m.value.empty()) continue;
      key.assign(m.name);
      key += '\xff';
      key += m.value;
      auto it = postings.find(key);
      if (it == postings.end()) return;
      lists.push_back(&it->second);
    }
    if (i < 64) known |= uint64_t{1} << i;
  }
  if (!lists.empty()) {
    std::sort(lists.begin(), lists.end(),
              [](const auto* a, const auto* b) { return a->size() < b->size(); });
    if (lists.size() == 1) {
      for (const SeriesData* s : *lists[0]) {
        if (matches(s, matchers, known)) fn(s);
      }
      return;
    }
    std::vector<const SeriesData*> both(lists[0]->begin(), lists[0]->end());
    for (size_t l = 1; l < lists.size() && !both.empty(); ++l) {
      const std::vector<SeriesData*>& other = *lists[l];
      size_t w = 0, j = 0;
      for (const SeriesData* s : both) {
        while (j < other.size() && other[j]->seq < s->seq) ++j;
        if (j == other.size()) break;
        if (other[j] == s) both[w++] = s;
      }
      both.resize(w);
    }
    for (const SeriesData* s : both) {
      if (matches(s, matchers, known)) fn(s);
    }
    return;
  }
  if (name_other != nullptr && !name_other->matches("")) {
    // Only metrics whose name matches: test each name once, then keep creation order.
    std::vector<const SeriesData*> picked;
    for (const auto& [name, list] : by_name) {
      if (!name_other->matches(name)) continue;
      picked.insert(picked.end(), list.begin(), list.end());
    }
    std::sort(picked.begin(), picked.end(),
              [](const SeriesData* a, const SeriesData* b) { return a->seq < b->seq; });
    for (const SeriesData* s : picked) {
      if (matches(s, matchers, 0)) fn(s);
    }
    return;
  }
  for (const auto& s : series) {
    if (matches(s.get(), matchers, 0)) fn(s.get());
  }
}

void MemoryStorage::select_impl(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                                Matrix& out, bool drop_name) const {
  if (mint > maxt) return;
  impl_->for_each_match(matchers, [&](const SeriesData* s) {
    std::vector<Sample> window;
    s->samples.copy(mint, maxt, window);
    if (window.empty()) return;
    Series& o = out.emplace_back();
    if (drop_name) {
      o.labels.reserve(s->labels.size());
      for (const auto& kv : s->labels) {
        if (kv.first != "__name__") o.labels.push_back(kv);
      }
    } else {
      o.labels = s->labels;
    }
    o.samples = std::move(window);
  });
}

void MemoryStorage::visit_impl(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                               Window window, VisitFn fn, void* ctx) const {
  if (mint > maxt) return;
  std::vector<Sample> buf;  // reused for every series of the selector
  impl_->for_each_match(matchers, [&](const SeriesData* s) {
    size_t n = 0;
    if (window == Window::kLast) {
      if (buf.empty()) buf.resize(1);
      n = s->samples.last_in(mint, maxt, buf[0]) ? 1 : 0;
    } else {
      n = s->samples.read(mint, maxt, window == Window::kNoStale, buf);
    }
    if (n != 0) fn(ctx, s->labels, std::span<const Sample>(buf.data(), n));
  });
}

void sort_labels(Labels& labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace vigil::alerting::promql
