#include "vigil/metrics/family.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <mutex>
#include <new>
#include <shared_mutex>

#include "detail/hash.h"
#include "exemplars.h"
#include "rw_spin_lock.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/metrics/names.h"

namespace vigil::metrics::detail {
namespace {

constexpr size_t kMaxLabelValueBytes = 1024;
constexpr std::string_view kOverflowValue = "__overflow__";

bool values_equal(const SeriesNode& node, std::span<const std::string_view> values) noexcept {
  for (size_t i = 0; i < values.size(); ++i) {
    if (node.label(i) != values[i]) return false;
  }
  return true;
}

// Replaces invalid UTF-8 with U+FFFD and truncates (on a character boundary) past the limit.
std::string sanitize_value(std::string_view v) {
  std::string out;
  out.reserve(std::min(v.size(), kMaxLabelValueBytes));
  size_t i = 0;
  while (i < v.size()) {
    const auto c = static_cast<unsigned char>(v[i]);
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    std::string_view ch;
    if (len != 0 && i + len <= v.size() && is_valid_utf8(v.substr(i, len))) {
      ch = v.substr(i, len);
      i += len;
    } else {
      ch = "\xEF\xBF\xBD";
      ++i;
    }
    if (out.size() + ch.size() > kMaxLabelValueBytes) break;
    out.append(ch);
  }
  return out;
}

bool needs_sanitizing(std::string_view v) noexcept {
  return v.size() > kMaxLabelValueBytes || !is_valid_utf8(v);
}

std::atomic<uint64_t> g_next_family_id{1};

// Per-thread cache of recent lookups, so that finding an existing series costs a hash, a
// compare and a reference count, without touching the family's lock. Each entry holds a
// reference to its node; an entry is valid while the family's generation (bumped whenever a
// series leaves the index) is the one it was stored with.
struct LookupCache {
  static constexpr size_t kBits = 7;
  struct Entry {
    uint64_t family_id = 0;
    uint64_t generation = 0;
    uint64_t hash = 0;
    SeriesNode* node = nullptr;
  };
  Entry entries[size_t{1} << kBits];

  static size_t slot(uint64_t family_id, uint64_t hash) noexcept {
    return static_cast<size_t>(
        ((hash ^ (family_id * 0x9E3779B97F4A7C15ULL)) * 0xD6E8FEB86659FD93ULL) >> (64 - kBits));
  }
  static void release(Entry& e) noexcept {
    if (e.node == nullptr) return;
    e.node->cache_refs.fetch_sub(1, std::memory_order_relaxed);
    SeriesRef drop(std::exchange(e.node, nullptr));
  }
  ~LookupCache() {
    for (Entry& e : entries) release(e);
  }
};
thread_local LookupCache tls_lookup_cache;

}  // namespace

void destroy_series(SeriesNode* node) noexcept {
  if (node->cell_count != 0) free_cells(node->cell, node->cell_count);
  if (node->owns_window) delete node->window();
  node->~SeriesNode();
  ::operator delete(node);
}

// Open addressing with linear probing and backward-shift deletion (no tombstones).
struct FamilyIndex {
  mutable RwSpinLock lock;
  std::vector<SeriesNode*> slots = std::vector<SeriesNode*>(16, nullptr);
  size_t count = 0;
  SeriesNode* overflow = nullptr;
  std::atomic<uint64_t> overflowed{0};
  std::atomic<uint64_t> invalid_values{0};

  size_t mask() const noexcept { return slots.size() - 1; }

  void insert(SeriesNode* node) {
    if ((count + 1) * 4 > slots.size() * 3) grow();
    size_t i = node->hash & mask();
    while (slots[i] != nullptr) i = (i + 1) & mask();
    slots[i] = node;
    ++count;
  }
  void grow() {
    std::vector<SeriesNode*> bigger(slots.size() * 2, nullptr);
    const size_t m = bigger.size() - 1;
    for (SeriesNode* n : slots) {
      if (n == nullptr) continue;
      size_t i = n->hash & m;
      while (bigger[i] != nullptr) i = (i + 1) & m;
      bigger[i] = n;
    }
    slots.swap(bigger);
  }
  void erase_at(size_t i) noexcept {
    slots[i] = nullptr;
    --count;
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask();
      SeriesNode* n = slots[j];
      if (n == nullptr) return;
      const size_t home = n->hash & mask();
      // Move n back into the hole if its home is not in the cyclic range (i, j].
      const bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!in_range) {
        slots[i] = n;
        slots[j] = nullptr;
        i = j;
      }
    }
  }
};

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names, MetricOptions options,
                       uint32_t cells_per_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      options_(std::move(options)),
      cells_per_series_(cells_per_series),
      clock_origin_ns_(coarse_monotonic_nanos()),
      id_(g_next_family_id.fetch_add(1, std::memory_order_relaxed)),
      index_(std::make_unique<FamilyIndex>()) {
  // (clamped to a year: a larger interval would overflow the nanosecond deadlines)
  constexpr int64_t kYearMs = 365LL * 24 * 3600 * 1000;
  stats_.exemplar_interval_ns =
      std::clamp<int64_t>(options_.exemplar_interval.count(), 0, kYearMs) * 1'000'000;
}

FamilyBase::~FamilyBase() {
  delete stats_.exemplars.load(std::memory_order_acquire);
  for (SeriesNode* n : index_->slots) {
    if (n != nullptr) SeriesRef drop(n);
  }
  if (index_->overflow != nullptr) SeriesRef drop(index_->overflow);
}

uint32_t FamilyBase::clock_seconds() const noexcept {
  return static_cast<uint32_t>((coarse_monotonic_nanos() - clock_origin_ns_) / 1'000'000'000);
}

SeriesNode* FamilyBase::find_locked(uint64_t hash, std::span<const std::string_view> values) const {
  const FamilyIndex& ix = *index_;
  for (size_t i = hash & ix.mask();; i = (i + 1) & ix.mask()) {
    SeriesNode* n = ix.slots[i];
    if (n == nullptr) return nullptr;
    if (n->hash == hash && values_equal(*n, values)) return n;
  }
}

SeriesNode* FamilyBase::acquire(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) [[unlikely]] {
    throw Error("metric '" + name_ + "': expected " + std::to_string(label_names_.size()) +
                " label values, got " + std::to_string(values.size()));
  }
  const uint64_t hash = hash_values(values);
  LookupCache::Entry& cached = tls_lookup_cache.entries[LookupCache::slot(id_, hash)];
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (cached.family_id == id_ && cached.hash == hash && cached.generation == generation &&
      values_equal(*cached.node, values)) [[likely]] {
    SeriesNode* n = cached.node;
    n->refs.fetch_add(1, std::memory_order_relaxed);
    if (!n->touched.load(std::memory_order_relaxed)) {
      n->touched.store(true, std::memory_order_relaxed);
    }
    return n;
  }
  {
    std::shared_lock lock(index_->lock);
    if (SeriesNode* n = find_locked(hash, values)) {
      n->refs.fetch_add(2, std::memory_order_relaxed);  // the caller's and the cache's
      n->cache_refs.fetch_add(1, std::memory_order_relaxed);
      if (!n->touched.load(std::memory_order_relaxed)) {
        n->touched.store(true, std::memory_order_relaxed);
      }
      lock.unlock();
      LookupCache::release(cached);
      cached = {id_, generation, hash, n};
      return n;
    }
  }
  return acquire_slow(values);
}

SeriesNode* FamilyBase::acquire_slow(std::span<const std::string_view> values) {
  // Clean up values that are not valid UTF-8 or too long, then look up the clean values.
  std::vector<std::string> cleaned;
  std::vector<std::string_view> views;
  if (std::any_of(values.begin(), values.end(), needs_sanitizing)) {
    cleaned.reserve(values.size());
    for (std::string_view v : values) {
      if (needs_sanitizing(v)) index_->invalid_values.fetch_add(1, std::memory_order_relaxed);
      cleaned.push_back(sanitize_value(v));
    }
    views.assign(cleaned.begin(), cleaned.end());
    values = views;
  }
  const uint64_t hash = hash_values(values);
  std::unique_lock lock(index_->lock);
  SeriesNode* n = find_locked(hash, values);
  if (n == nullptr) {
    if (index_->count >= options_.cardinality_limit) {
      index_->overflowed.fetch_add(1, std::memory_order_relaxed);
      if (index_->overflow == nullptr) {
        std::vector<std::string_view> overflow_values(values.size(), kOverflowValue);
        index_->overflow = create_locked(hash_values(overflow_values), overflow_values);
      }
      n = index_->overflow;
    } else {
      n = create_locked(hash, values);
      index_->insert(n);
    }
  }
  n->refs.fetch_add(1, std::memory_order_relaxed);
  n->touched.store(true, std::memory_order_relaxed);
  return n;
}

SeriesNode* FamilyBase::create_locked(uint64_t hash, std::span<const std::string_view> values) {
  size_t bytes = 0;
  for (std::string_view v : values) bytes += v.size();
  const size_t size = sizeof(SeriesNode) + values.size() * sizeof(uint32_t) + bytes;
  void* mem = ::operator new(size);
  auto* node = new (mem) SeriesNode;
  node->hash = hash;
  node->label_count = static_cast<uint16_t>(values.size());
  auto* ends = reinterpret_cast<uint32_t*>(node + 1);
  char* chars = reinterpret_cast<char*>(ends + values.size());
  uint32_t end = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].empty()) {  // an empty view may hold a null pointer: no memcpy from it
      std::memcpy(chars + end, values[i].data(), values[i].size());
    }
    end += static_cast<uint32_t>(values[i].size());
    ends[i] = end;
  }
  node->created = unix_time_seconds();
  node->idle_since = clock_seconds();
  try {
    if (cells_per_series_ != 0) {
      node->cell = allocate_cells(cells_per_series_);
      node->cell_count = static_cast<uint16_t>(cells_per_series_);
    }
    init_series(*node);
  } catch (...) {
    destroy_series(node);
    throw;
  }
  return node;
}

void FamilyBase::init_series(SeriesNode&) {}

size_t FamilyBase::size() const {
  std::shared_lock lock(index_->lock);
  return index_->count;
}

bool FamilyBase::remove(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) return false;
  const uint64_t hash = hash_values(values);
  SeriesNode* removed = nullptr;
  {
    std::unique_lock lock(index_->lock);
    FamilyIndex& ix = *index_;
    for (size_t i = hash & ix.mask();; i = (i + 1) & ix.mask()) {
      SeriesNode* n = ix.slots[i];
      if (n == nullptr) break;
      if (n->hash == hash && values_equal(*n, values)) {
        removed = n;
        ix.erase_at(i);
        break;
      }
    }
  }
  if (removed == nullptr) return false;
  generation_.fetch_add(1, std::memory_order_acq_rel);
  SeriesRef drop(removed);  // the index's reference; freed here unless a handle holds it
  return true;
}

void FamilyBase::clear() {
  std::vector<SeriesNode*> removed;
  {
    std::unique_lock lock(index_->lock);
    for (SeriesNode*& n : index_->slots) {
      if (n != nullptr) removed.push_back(std::exchange(n, nullptr));
    }
    index_->count = 0;
    if (index_->overflow != nullptr) removed.push_back(std::exchange(index_->overflow, nullptr));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  for (SeriesNode* n : removed) SeriesRef drop(n);
}

size_t FamilyBase::expire_idle() {
  if (options_.idle_expiry.count() <= 0) return 0;
  const uint32_t now = clock_seconds();
  const auto ttl = static_cast<uint32_t>(options_.idle_expiry.count());
  std::vector<SeriesNode*> removed;
  {
    std::unique_lock lock(index_->lock);
    FamilyIndex& ix = *index_;
    for (size_t i = 0; i < ix.slots.size();) {
      SeriesNode* n = ix.slots[i];
      if (n == nullptr) {
        ++i;
        continue;
      }
      if (n->touched.load(std::memory_order_relaxed)) {
        n->touched.store(false, std::memory_order_relaxed);
        n->idle_since = now;
      } else if (n->refs.load(std::memory_order_acquire) -
                         n->cache_refs.load(std::memory_order_acquire) ==
                     1 &&
                 now - n->idle_since >= ttl) {
        removed.push_back(n);
        ix.erase_at(i);
        continue;  // erase_at may have shifted another node into slot i
      }
      ++i;
    }
    if (!removed.empty()) generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  for (SeriesNode* n : removed) SeriesRef drop(n);
  return removed.size();
}

uint64_t FamilyBase::overflow_count() const noexcept {
  return index_->overflowed.load(std::memory_order_relaxed);
}

uint64_t FamilyBase::invalid_label_values() const noexcept {
  return index_->invalid_values.load(std::memory_order_relaxed);
}

void FamilyBase::collect(MetricSink& sink) const { visit(sink, true); }

void FamilyBase::read(MetricSink& sink) const { visit(sink, false); }

void FamilyBase::visit(MetricSink& sink, bool collection) const {
  std::shared_lock lock(index_->lock);
  const FamilyIndex& ix = *index_;
  if (collection && ix.count == 0 && ix.overflow == nullptr) return;
  FamilyDesc desc;
  desc.name = name_;
  desc.help = help_;
  desc.unit = options_.unit;
  desc.type = type_;
  desc.label_names = label_names_;
  desc.const_labels = options_.const_labels;
  if (collection) {
    if (ExemplarStore* store = exemplar_store(stats_)) store->begin_collection();
  }
  sink.begin_family(desc);
  std::vector<std::string_view> views(label_names_.size());
  auto emit_node = [&](const SeriesNode& n) {
    for (size_t i = 0; i < views.size(); ++i) views[i] = n.label(i);
    emit(sink, views, n);
  };
  // Series nodes and their cells are scattered in hash order: fetch nodes 16 slots ahead and
  // the cells of the node 8 slots ahead (by then in cache) before they are needed.
  const size_t slots = ix.slots.size();
  constexpr size_t kNodeAhead = 16;
  constexpr size_t kCellsAhead = 8;
  const bool has_cells = cells_per_series_ != 0;
  for (size_t i = 0; i < slots; ++i) {
    if (i + kNodeAhead < slots && ix.slots[i + kNodeAhead] != nullptr) {
      __builtin_prefetch(ix.slots[i + kNodeAhead]);
    }
    if (has_cells && i + kCellsAhead < slots && ix.slots[i + kCellsAhead] != nullptr) {
      prefetch_cells(ix.slots[i + kCellsAhead]->cell);
    }
    if (const SeriesNode* n = ix.slots[i]) emit_node(*n);
  }
  if (ix.overflow != nullptr) emit_node(*ix.overflow);
  sink.end_family();
}

}  // namespace vigil::metrics::detail
