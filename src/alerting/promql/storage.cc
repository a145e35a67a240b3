// src/alerting/promql/storage.cc: MemoryStorage, the in-memory series store selectors read.
//
// Series live in creation order (as in Prometheus' head block, whose postings are ordered by
// series reference); a hash map finds a series by its label set and an index from __name__ to
// series lets a selector with a name matcher skip every other metric. select() copies only the
// samples inside the requested window.
#include <algorithm>
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
  uint64_t seq = 0;  // creation order
  Labels labels;
  std::vector<Sample> samples;
};

size_t hash_labels(const Labels& labels) noexcept {
  size_t h = 14695981039346656037ULL;
  std::hash<std::string_view> hs;
  for (const auto& [name, value] : labels) {
    h = (h ^ hs(name)) * 1099511628211ULL;
    h = (h ^ hs(value)) * 1099511628211ULL;
  }
  return h;
}

struct LabelsPtrHash {
  size_t operator()(const Labels* l) const noexcept { return hash_labels(*l); }
};
struct LabelsPtrEq {
  bool operator()(const Labels* a, const Labels* b) const noexcept { return *a == *b; }
};

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
  std::unordered_map<const Labels*, SeriesData*, LabelsPtrHash, LabelsPtrEq> by_labels;
  std::unordered_map<std::string, std::vector<SeriesData*>> by_name;
  size_t samples = 0;
  uint64_t next_seq = 0;

  void add_candidates(const SeriesData* s, std::span<const Matcher> matchers, int64_t mint,
                      int64_t maxt, Matrix& out) const {
    for (const Matcher& m : matchers) {
      if (!m.matches(label_value(s->labels, m.name))) return;
    }
    const std::vector<Sample>& v = s->samples;
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
  auto it = impl_->by_labels.find(&labels);
  SeriesData* s;
  if (it == impl_->by_labels.end()) {
    auto owned = std::make_unique<SeriesData>();
    owned->labels = labels;
    owned->seq = impl_->next_seq++;
    s = owned.get();
    impl_->series.push_back(std::move(owned));
    impl_->by_labels.emplace(&s->labels, s);
    impl_->by_name[std::string(label_value(labels, "__name__"))].push_back(s);
  } else {
    s = it->second;
    if (!s->samples.empty() && s->samples.back().t >= t) return false;
  }
  s->samples.push_back(Sample{t, v});
  ++impl_->samples;
  return true;
}

size_t MemoryStorage::trim_before(int64_t t) {
  size_t dropped = 0;
  bool any_removed = false;
  for (auto& s : impl_->series) {
    std::vector<Sample>& v = s->samples;
    auto lo =
        std::lower_bound(v.begin(), v.end(), t, [](const Sample& a, int64_t x) { return a.t < x; });
    size_t n = static_cast<size_t>(lo - v.begin());
    if (n == 0) continue;
    v.erase(v.begin(), lo);
    dropped += n;
    if (v.empty()) {
      impl_->by_labels.erase(&s->labels);
      any_removed = true;
    }
  }
  impl_->samples -= dropped;
  if (any_removed) {
    for (auto it = impl_->by_name.begin(); it != impl_->by_name.end();) {
      std::erase_if(it->second, [](const SeriesData* s) { return s->samples.empty(); });
      it = it->second.empty() ? impl_->by_name.erase(it) : std::next(it);
    }
    std::erase_if(impl_->series,
                  [](const std::unique_ptr<SeriesData>& s) { return s->samples.empty(); });
  }
  return dropped;
}

void MemoryStorage::clear() {
  impl_->by_labels.clear();
  impl_->by_name.clear();
  impl_->series.clear();
  impl_->samples = 0;
}

size_t MemoryStorage::series_count() const noexcept { return impl_->series.size(); }
size_t MemoryStorage::sample_count() const noexcept { return impl_->samples; }

size_t MemoryStorage::memory_bytes() const noexcept {
  size_t n = 0;
  for (const auto& s : impl_->series) {
    n += s->samples.capacity() * sizeof(Sample) + labels_bytes(s->labels) + sizeof(SeriesData);
  }
  return n;
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
  if (name_eq != nullptr) {
    auto it = impl_->by_name.find(name_eq->value);
    if (it == impl_->by_name.end()) return;
    for (const SeriesData* s : it->second) impl_->add_candidates(s, matchers, mint, maxt, out);
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
