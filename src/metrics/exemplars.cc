#include "exemplars.h"

#include <array>
#include <atomic>
#include <cstring>

#include "vigil/core/clock.h"
#include "vigil/metrics/names.h"

namespace vigil::metrics::detail {
namespace {

// OpenMetrics: the label names and values of an exemplar together hold at most 128 UTF-8
// characters.
constexpr size_t kMaxExemplarChars = 128;

// Characters: the bytes that are not continuation bytes (10xxxxxx), counted eight at a time
// (a per-byte loop was ~200 instructions for the 48 hex characters of a trace exemplar).
size_t utf8_chars(std::string_view s) noexcept {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  size_t continuation = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    // 1 in each byte with bit 7 set and bit 6 clear; the multiply adds the eight bytes up
    // into the top byte (no popcount instruction on baseline x86-64).
    const uint64_t ones = (w & ~(w << 1) & kHigh) >> 7;
    continuation += static_cast<size_t>((ones * 0x0101010101010101ULL) >> 56);
  }
  for (; i < s.size(); ++i) {
    continuation += (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80 ? 1 : 0;
  }
  return s.size() - continuation;
}

// The usual names (trace::ExemplarIds') are valid: a compare instead of the name rules.
bool known_valid_name(std::string_view name) noexcept {
  return name == "trace_id" || name == "span_id";
}

bool valid_labels(ExemplarLabels labels) noexcept {
  size_t bytes = 0;
  for (const auto& [name, value] : labels) {
    if (!known_valid_name(name) && !is_valid_label_name(name)) return false;
    if (!is_valid_utf8(value)) return false;
    bytes += name.size() + value.size();
  }
  if (bytes <= kMaxExemplarChars) return true;  // never more characters than bytes
  size_t chars = 0;
  for (const auto& [name, value] : labels) {
    // (a valid label name is ASCII: one character per byte)
    chars += name.size() + utf8_chars(value);
  }
  return chars <= kMaxExemplarChars;
}

std::atomic<uint64_t> g_next_store_id{1};

// Exemplar sampling (MetricOptions::exemplar_interval): this thread's last stored exemplar per
// (store, series, slot), in a small direct-mapped table. A collision only costs an extra store.
struct RecentExemplar {
  uint64_t store = 0;
  const SeriesNode* node = nullptr;
  uint32_t slot = 0;
  int64_t until_ns = 0;
};
constinit thread_local std::array<RecentExemplar, 64> t_recent{};

// True when this thread stored an exemplar for (store, node, slot) less than `interval_ns`
// ago; otherwise notes one stored now.
bool sampled_out(uint64_t store, const SeriesNode* node, uint32_t slot,
                 int64_t interval_ns) noexcept {
  const uint64_t h = (reinterpret_cast<uintptr_t>(node) >> 4) * 0x9E3779B97F4A7C15ULL ^
                     (store + slot) * 0xD6E8FEB86659FD93ULL;
  RecentExemplar& r = t_recent[static_cast<size_t>(h >> 58)];
  // The coarse clock (1-4 ms resolution, ~5 ns) is plenty for intervals of tens of ms.
  const int64_t now = coarse_monotonic_nanos();
  if (r.store == store && r.node == node && r.slot == slot && now < r.until_ns) return true;
  r = {store, node, slot, now + interval_ns};
  return false;
}

}  // namespace

ExemplarStore::ExemplarStore() : id_(g_next_store_id.fetch_add(1, std::memory_order_relaxed)) {}

void record_exemplar(RecordStats* stats, const SeriesNode* node, uint32_t slot, uint32_t slots,
                     double value, ExemplarLabels labels) noexcept {
  if (node == nullptr || slot >= slots) return;
  // Bad labels are counted whether or not this exemplar would have been sampled.
  if (!valid_labels(labels)) {
    stats->bad_exemplar.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    ExemplarStore* store = stats->exemplars.load(std::memory_order_acquire);
    if (store == nullptr) {
      auto* fresh = new ExemplarStore;
      if (stats->exemplars.compare_exchange_strong(store, fresh, std::memory_order_acq_rel)) {
        store = fresh;
      } else {
        delete fresh;  // another thread installed one: `store` holds it
      }
    }
    if (stats->exemplar_interval_ns > 0 &&
        sampled_out(store->id(), node, slot, stats->exemplar_interval_ns)) {
      return;
    }
    store->record(node, slot, slots, value, labels);
  } catch (...) {
    stats->bad_exemplar.fetch_add(1, std::memory_order_relaxed);  // out of memory
  }
}

void ExemplarStore::record(const SeriesNode* node, uint32_t slot, uint32_t slots, double value,
                           ExemplarLabels labels) {
  const double now = static_cast<double>(fast_unix_nanos()) * 1e-9;  // ~13 ns, not ~33
  std::lock_guard lock(mu_);
  Entry& e = entries_[node];
  if (e.created != node->created || e.slots.size() != slots) {
    e.created = node->created;
    e.slots.assign(slots, Stored{});
  }
  e.seen = epoch_;
  Stored& s = e.slots[slot];
  s.set = true;
  s.value = value;
  s.timestamp = now;
  s.text.clear();
  s.ends.clear();
  for (const auto& [name, label_value] : labels) {
    s.text.append(name);
    s.ends.push_back(static_cast<uint32_t>(s.text.size()));
    s.text.append(label_value);
    s.ends.push_back(static_cast<uint32_t>(s.text.size()));
  }
}

bool ExemplarStore::snapshot(const SeriesNode& node, uint32_t slots, Snapshot& out) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(&node);
  if (it == entries_.end() || it->second.created != node.created ||
      it->second.slots.size() != slots) {
    return false;
  }
  Entry& e = it->second;
  e.seen = epoch_;
  out.points.clear();
  out.labels.clear();
  out.text.clear();
  out.by_slot.assign(slots, nullptr);
  // Copy the text first (views are taken once it no longer grows).
  size_t label_count = 0;
  for (const Stored& s : e.slots) {
    if (!s.set) continue;
    out.text.append(s.text);
    label_count += s.ends.size() / 2;
  }
  out.labels.reserve(label_count);
  out.points.reserve(slots);
  size_t base = 0;
  for (uint32_t i = 0; i < slots; ++i) {
    const Stored& s = e.slots[i];
    if (!s.set) continue;
    const size_t first_label = out.labels.size();
    uint32_t start = 0;
    for (size_t k = 0; k + 1 < s.ends.size(); k += 2) {
      const std::string_view name(out.text.data() + base + start, s.ends[k] - start);
      const std::string_view value(out.text.data() + base + s.ends[k], s.ends[k + 1] - s.ends[k]);
      out.labels.emplace_back(name, value);
      start = s.ends[k + 1];
    }
    base += s.text.size();
    ExemplarPoint p;
    p.labels = std::span(out.labels.data() + first_label, out.labels.size() - first_label);
    p.value = s.value;
    p.timestamp = s.timestamp;
    out.points.push_back(p);
    out.by_slot[i] = &out.points.back();
  }
  return !out.points.empty();
}

void ExemplarStore::begin_collection() {
  std::lock_guard lock(mu_);
  ++epoch_;
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = epoch_ - it->second.seen > 2 ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace vigil::metrics::detail
