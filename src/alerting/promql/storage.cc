// src/alerting/promql/storage.cc: MemoryStorage, the in-memory series store selectors read.
//
// Series live in creation order (as in Prometheus' head block, whose postings are ordered by
// series reference); a hash map finds a series by its label set and an index from __name__ to
// series lets a selector with a name matcher skip every other metric. select() copies only the
// samples inside the requested window.
//
// A series' samples are a std::deque: appending at the end and trimming at the front (what the
// rule engine does every round) cost O(1) per sample and move nothing, and memory grows in blocks
// of 32 samples (512 bytes), so a sample costs 16 bytes with at most two partly used blocks per
// series (a vector would keep up to twice the samples it holds as spare capacity, and memmove the
// whole series on every trim).
#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alerting/promql/eval.h"

namespace vigil::alerting::promql {

namespace {

struct SeriesData {
  uint64_t seq = 0;                 // creation order
  SeriesData* same_hash = nullptr;  // the next series whose label set has the same hash
  Labels labels;
  std::deque<Sample> samples;
};

// libstdc++'s deque block: 512 bytes (32 samples).
constexpr size_t kBlockSamples = 512 / sizeof(Sample) > 1 ? 512 / sizeof(Sample) : 1;

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

  void add_candidates(const SeriesData* s, std::span<const Matcher> matchers, int64_t mint,
                      int64_t maxt, Matrix& out) const {
    for (const Matcher& m : matchers) {
      if (!m.matches(label_value(s->labels, m.name))) return;
    }
    const std::deque<Sample>& v = s->samples;
    auto lo = std::lower_bound(v.begin(), v.end(), mint,
                               [](const Sample& a, int64_t t) { return a.t < t; });
    auto hi =
        std::upper_bound(lo, v.end(), maxt, [](int64_t t, const Sample& a) { return t < a.t; });
    if (lo == hi) return;
    Series& o = out.emplace_back();
    o.labels = s->labels;
    o.samples.assign(lo, hi);
  }
};

MemoryStorage::MemoryStorage() : impl_(std::make_unique<Impl>()) {}
MemoryStorage::~MemoryStorage() = default;
MemoryStorage::MemoryStorage(MemoryStorage&&) noexcept = default;
MemoryStorage& MemoryStorage::operator=(MemoryStorage&&) noexcept = default;

bool MemoryStorage::append(const Labels& labels, int64_t t, double v) {
  size_t h = hash_labels(labels);
  auto [slot, inserted] = impl_->by_labels.try_emplace(h, nullptr);
  SeriesData* s = slot->second;
  while (s != nullptr && s->labels != labels) s = s->same_hash;
  if (s == nullptr) {
    auto owned = std::make_unique<SeriesData>();
    owned->labels = labels;
    owned->seq = impl_->next_seq++;
    s = owned.get();
    impl_->series.push_back(std::move(owned));
    s->same_hash = slot->second;
    slot->second = s;
    impl_->by_name[std::string(label_value(labels, "__name__"))].push_back(s);
    std::string key;
    for (const auto& [name, value] : labels) {
      if (name == "__name__") continue;
      key.assign(name);
      key += '\xff';
      key += value;
      impl_->postings[key].push_back(s);
      ++impl_->postings_entries;
    }
  } else if (!s->samples.empty() && s->samples.back().t >= t) {
    return false;
  }
  s->samples.push_back(Sample{t, v});
  ++impl_->samples;
  return true;
}

size_t MemoryStorage::trim_before(int64_t t) {
  size_t dropped = 0;
  bool any_removed = false;
  for (auto& s : impl_->series) {
    std::deque<Sample>& v = s->samples;
    auto lo =
        std::lower_bound(v.begin(), v.end(), t, [](const Sample& a, int64_t x) { return a.t < x; });
    size_t n = static_cast<size_t>(lo - v.begin());
    if (n == 0) continue;
    v.erase(v.begin(), lo);
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
    // Blocks in use (at most one partly used at each end) and the deque's map of block pointers
    // (libstdc++: at least 8 entries).
    const size_t blocks = s->samples.size() / kBlockSamples + 2;
    n += blocks * kBlockSamples * sizeof(Sample) + std::max<size_t>(8, blocks + 2) * sizeof(void*) +
         labels_bytes(s->labels) + sizeof(SeriesData);
  }
  return n + impl_->postings_entries * sizeof(SeriesData*);
}

void MemoryStorage::select(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                           Matrix& out) const {
  if (mint > maxt) return;
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
  // The shortest list of candidates an equality matcher gives.
  const std::vector<SeriesData*>* best = nullptr;
  if (name_eq != nullptr) {
    auto it = impl_->by_name.find(name_eq->value);
    if (it == impl_->by_name.end()) return;
    best = &it->second;
  }
  std::string key;
  for (const Matcher& m : matchers) {
    if (m.op != MatchOp::kEqual || m.value.empty() || m.name == "__name__") continue;
    key.assign(m.name);
    key += '\xff';
    key += m.value;
    auto it = impl_->postings.find(key);
    if (it == impl_->postings.end()) return;
    if (best == nullptr || it->second.size() < best->size()) best = &it->second;
  }
  if (best != nullptr) {
    for (const SeriesData* s : *best) impl_->add_candidates(s, matchers, mint, maxt, out);
    return;
  }
  if (name_other != nullptr && !name_other->matches("")) {
    // Only metrics whose name matches: test each name once, then keep creation order.
    std::vector<const SeriesData*> picked;
    for (const auto& [name, list] : impl_->by_name) {
      if (!name_other->matches(name)) continue;
      picked.insert(picked.end(), list.begin(), list.end());
    }
    std::sort(picked.begin(), picked.end(),
              [](const SeriesData* a, const SeriesData* b) { return a->seq < b->seq; });
    for (const SeriesData* s : picked) impl_->add_candidates(s, matchers, mint, maxt, out);
    return;
  }
  for (const auto& s : impl_->series) impl_->add_candidates(s.get(), matchers, mint, maxt, out);
}

void sort_labels(Labels& labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace vigil::alerting::promql
