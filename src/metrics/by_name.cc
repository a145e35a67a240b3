// One-call instrumentation by name (vigil/metrics/by_name.h): a per-thread cache from
// (kind, name, labels) to an entry holding the series handle, in front of a locked map.
#include "vigil/metrics/by_name.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/detail/text.h"
#include "detail/hash.h"
#include "vigil/core/error.h"
#include "vigil/metrics/names.h"

namespace vigil::metrics {
namespace {

constexpr size_t kMaxLabels = 16;

// The `reason` label values of vigil_named_metric_errors_total.
enum Reason : int { kLabelNames, kInvalidName, kRegistration, kTooManyLabels, kReasons };
constexpr std::array<std::string_view, kReasons> kReasonNames = {"label_names", "invalid_name",
                                                                 "registration", "too_many_labels"};

constexpr char kCounter = 'c';
constexpr char kGauge = 'g';
constexpr char kHistogram = 'h';
constexpr char kTimer = 't';

std::atomic<uint64_t> g_next_id{1};

// The parts of a call's key: its name, then each label's name and value, in that order (the
// kind is the key's first byte and is folded into the hash's seed). Visits each part; `fn`
// returns false to stop. Returns whether every part was visited.
template <class Fn>
bool for_each_part(std::string_view name, LabelSet labels, Fn&& fn) {
  if (!fn(name)) return false;
  for (const Label& l : labels) {
    if (!fn(l.name) || !fn(l.value)) return false;
  }
  return true;
}

// memcmp(a, b, n) == 0, inline for the short strings of names and labels.
inline bool bytes_equal(const char* a, const char* b, size_t n) noexcept {
  if (n > 16) return std::memcmp(a, b, n) == 0;
  if (n >= 8) {
    return detail::load64(a) == detail::load64(b) &&
           detail::load64(a + n - 8) == detail::load64(b + n - 8);
  }
  if (n >= 4) {
    return detail::load32(a) == detail::load32(b) &&
           detail::load32(a + n - 4) == detail::load32(b + n - 4);
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

uint64_t key_hash(const char& kind, std::string_view name, LabelSet labels) noexcept {
  detail::ValuesHasher h((static_cast<uint64_t>(static_cast<unsigned char>(kind)) << 32) |
                         labels.size());
  // The label names are compared, not hashed: a name keeps the same label names, so hashing
  // them would only cost time.
  h.add(name);
  for (const Label& l : labels) h.add(l.value);
  return h.done();
}

// Length-prefixed parts, so that the key is exact (no separator can be forged by a value).
std::string encode_key(const char& kind, std::string_view name, LabelSet labels) {
  std::string key(1, kind);
  for_each_part(name, labels, [&](std::string_view p) {
    const auto n = static_cast<uint32_t>(p.size());
    key.append(reinterpret_cast<const char*>(&n), 4);
    key.append(p);
    return true;
  });
  return key;
}

bool key_matches(const std::string& key, const char& kind, std::string_view name,
                 LabelSet labels) noexcept {
  if (key.empty() || key[0] != kind) return false;
  size_t pos = 1;
  const bool all = for_each_part(name, labels, [&](std::string_view p) {
    if (key.size() - pos < 4) return false;
    uint32_t n;
    std::memcpy(&n, key.data() + pos, 4);
    pos += 4;
    if (n != p.size() || key.size() - pos < n || !bytes_equal(key.data() + pos, p.data(), n)) {
      return false;
    }
    pos += n;
    return true;
  });
  return all && pos == key.size();
}

std::string list_of(const std::vector<std::string>& names) {
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out + "}";
}

}  // namespace

struct NamedMetrics::Entry {
  std::string key;
  int reason = -1;  // an error Reason, or -1
  std::string message;
  Counter counter;
  Gauge gauge;
  Histogram histogram;
};

namespace {

// The per-thread cache: direct-mapped, keyed by the owner's id and the key's hash. An entry
// pointer is only followed when the owner id is that of the NamedMetrics being called, which is
// then alive, and which never frees an entry while alive.
struct Slot {
  uint64_t owner;
  uint64_t hash;
  NamedMetrics::Entry* entry;
};
constexpr size_t kSlotBits = 8;
constinit thread_local std::array<Slot, size_t{1} << kSlotBits> t_slots{};

size_t slot_of(uint64_t owner, uint64_t hash) noexcept {
  return static_cast<size_t>(((hash ^ (owner * 0x9E3779B97F4A7C15ULL)) * 0xD6E8FEB86659FD93ULL) >>
                             (64 - kSlotBits));
}

}  // namespace

struct NamedMetrics::Impl {
  Registry& registry;
  NamedMetricsOptions options;
  std::array<Counter, kReasons> errors;

  // What a (kind, Prometheus name) was fixed to at its first use.
  struct NameState {
    detail::FamilyBase* family = nullptr;
    std::vector<std::string> label_names;  // translated, in the family's order
  };

  std::mutex mu;
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries;  // by encoded key
  std::unordered_map<std::string, NameState> names;                 // by kind + Prometheus name
  std::set<std::string> warned;                                     // name + reason, warned once

  Impl(Registry& r, NamedMetricsOptions o) : registry(r), options(std::move(o)) {
    auto& family = registry.counter(
        "vigil_named_metric_errors_total",
        "By-name metric calls that recorded nothing: other label names than at the name's first "
        "use, an invalid name, a clash with another registration, or too many labels",
        {"reason"});
    for (size_t i = 0; i < kReasons; ++i) errors[i] = family.labels(kReasonNames[i]);
  }

  // Registers the family for a first use. Throws vigil::Error.
  detail::FamilyBase* register_family(char kind, const std::string& prom, std::string_view help,
                                      const std::vector<std::string>& label_names) {
    auto buckets = [](const std::vector<double>& b) {
      return b.empty() ? HistogramOptions{} : HistogramOptions{b};
    };
    switch (kind) {
      case kCounter:
        return &registry.counter(prom, help, label_names);
      case kGauge:
        return &registry.gauge(prom, help, label_names);
      case kHistogram:
        return &registry.histogram(prom, help, label_names, buckets(options.buckets));
      default:
        return &registry.histogram(prom, help, label_names, buckets(options.timer_buckets),
                                   MetricOptions{.unit = "seconds"});
    }
  }

  // Fills `e` for a key seen for the first time. Throws std::bad_alloc only.
  void make_entry(Entry& e, char kind, std::string_view name, LabelSet labels) {
    const std::string quoted = vigil::detail::quoted(name);
    auto fail = [&](Reason reason, std::string message) {
      e.reason = reason;
      e.message = "metric " + quoted + ": " + std::move(message);
    };
    if (labels.size() > kMaxLabels) {
      return fail(kTooManyLabels, "more than " + std::to_string(kMaxLabels) + " labels");
    }
    std::string prom = prometheus_metric_name(name);
    if (kind == kTimer && !prom.ends_with("_seconds")) prom += "_seconds";
    if (!is_valid_metric_name(prom) || prom == "_") {
      return fail(kInvalidName, "the name has no character of a Prometheus metric name");
    }
    std::vector<std::string> given;
    given.reserve(labels.size());
    for (const Label& l : labels) {
      std::string ln = prometheus_label_name(l.name);
      if (!is_valid_label_name(ln)) {
        return fail(kLabelNames, "invalid label name " + vigil::detail::quoted(l.name));
      }
      for (const std::string& g : given) {
        if (g == ln) {
          return fail(kLabelNames, "label name " + vigil::detail::quoted(ln) + " given twice");
        }
      }
      given.push_back(std::move(ln));
    }
    const std::string state_key = std::string(1, kind) + prom;
    auto it = names.find(state_key);
    if (it == names.end()) {
      try {
        detail::FamilyBase* family = register_family(kind, prom, name, given);
        it = names.emplace(state_key, NameState{family, given}).first;
      } catch (const Error& ex) {
        return fail(kRegistration, ex.what());
      }
    }
    const NameState& st = it->second;
    // The values in the family's label order; the same label names are required.
    std::array<std::string_view, kMaxLabels> values;
    bool same = given.size() == st.label_names.size();
    for (size_t i = 0; same && i < st.label_names.size(); ++i) {
      same = false;
      for (size_t j = 0; j < given.size(); ++j) {
        if (given[j] == st.label_names[i]) {
          values[i] = labels.begin()[j].value;
          same = true;
          break;
        }
      }
    }
    if (!same) {
      return fail(kLabelNames, "label names were fixed at first use as " + list_of(st.label_names) +
                                   "; this call gives " + list_of(given));
    }
    const std::span<const std::string_view> v(values.data(), st.label_names.size());
    switch (kind) {
      case kCounter:
        e.counter = static_cast<Family<Counter>*>(st.family)->labels(v);
        break;
      case kGauge:
        e.gauge = static_cast<Family<Gauge>*>(st.family)->labels(v);
        break;
      default:
        e.histogram = static_cast<Family<Histogram>*>(st.family)->labels(v);
        break;
    }
  }

  void warn(const std::string& message) noexcept {
    try {
      if (options.warn) {
        options.warn(message);
      } else {
        std::fprintf(stderr, "vigil: warning: %s\n", message.c_str());
      }
    } catch (...) {  // a warning must not break the caller
    }
  }
};

NamedMetrics::NamedMetrics(Registry& registry, NamedMetricsOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))),
      id_(g_next_id.fetch_add(1, std::memory_order_relaxed)) {}

NamedMetrics::~NamedMetrics() = default;

NamedMetrics& NamedMetrics::global() {
  static NamedMetrics* const g = new NamedMetrics(Registry::global());
  return *g;
}

Registry& NamedMetrics::registry() const noexcept { return impl_->registry; }

uint64_t NamedMetrics::errors() const noexcept {
  double sum = 0;
  for (const Counter& c : impl_->errors) sum += c.value();
  return static_cast<uint64_t>(sum);
}

NamedMetrics::Entry* NamedMetrics::find(char kind, std::string_view name,
                                        LabelSet labels) noexcept {
  if (labels.size() > kMaxLabels) [[unlikely]] {
    impl_->errors[kTooManyLabels].inc();
    return nullptr;
  }
  const uint64_t hash = key_hash(kind, name, labels);
  Slot& slot = t_slots[slot_of(id_, hash)];
  if (slot.owner == id_ && slot.hash == hash && key_matches(slot.entry->key, kind, name, labels))
      [[likely]] {
    return slot.entry;
  }
  Entry* e = nullptr;
  std::string warning;
  try {
    std::string encoded = encode_key(kind, name, labels);
    std::lock_guard lock(impl_->mu);
    auto it = impl_->entries.find(encoded);
    if (it == impl_->entries.end()) {
      auto fresh = std::make_unique<Entry>();
      fresh->key = encoded;
      impl_->make_entry(*fresh, kind, name, labels);
      if (fresh->reason >= 0 &&
          impl_->warned.insert(std::string(name) + '\0' + kReasonNames[fresh->reason].data())
              .second) {
        warning = fresh->message;
      }
      it = impl_->entries.emplace(std::move(encoded), std::move(fresh)).first;
    }
    e = it->second.get();
  } catch (...) {  // std::bad_alloc: record nothing
    return nullptr;
  }
  if (!warning.empty()) impl_->warn(warning);
  slot = Slot{id_, hash, e};
  return e;
}

NamedMetrics::Entry* NamedMetrics::usable(char kind, std::string_view name,
                                          LabelSet labels) noexcept {
  Entry* e = find(kind, name, labels);
  if (e != nullptr && e->reason >= 0) [[unlikely]] {
    impl_->errors[static_cast<size_t>(e->reason)].inc();
    return nullptr;
  }
  return e;
}

NamedMetrics::Entry& NamedMetrics::checked(char kind, std::string_view name, LabelSet labels) {
  Entry* e = find(kind, name, labels);
  if (e == nullptr) {
    if (labels.size() > kMaxLabels) {
      throw Error("metric " + vigil::detail::quoted(name) + ": more than " +
                  std::to_string(kMaxLabels) + " labels");
    }
    throw std::bad_alloc();
  }
  if (e->reason >= 0) {
    impl_->errors[static_cast<size_t>(e->reason)].inc();
    throw Error(e->message);
  }
  return *e;
}

void NamedMetrics::increment(std::string_view name, LabelSet labels, double amount) noexcept {
  Entry* e = usable(kCounter, name, labels);
  if (e == nullptr) return;
  if (amount == 1) {
    e->counter.inc();
  } else {
    e->counter.inc(amount);
  }
}

void NamedMetrics::observe(std::string_view name, double value, LabelSet labels) noexcept {
  Entry* e = usable(kHistogram, name, labels);
  if (e == nullptr) return;
  e->histogram.observe(value);
}

void NamedMetrics::set(std::string_view name, double value, LabelSet labels) noexcept {
  Entry* e = usable(kGauge, name, labels);
  if (e == nullptr) return;
  e->gauge.set(value);
}

void NamedMetrics::add(std::string_view name, double delta, LabelSet labels) noexcept {
  Entry* e = usable(kGauge, name, labels);
  if (e == nullptr) return;
  e->gauge.add(delta);
}

void NamedMetrics::observe_seconds(std::string_view name, double seconds,
                                   LabelSet labels) noexcept {
  Entry* e = usable(kTimer, name, labels);
  if (e == nullptr) return;
  e->histogram.observe(seconds);
}

ScopedTimer<Histogram> NamedMetrics::timer(std::string_view name, LabelSet labels) noexcept {
  Entry* e = usable(kTimer, name, labels);
  return ScopedTimer<Histogram>(e != nullptr ? e->histogram : Histogram());
}

void NamedMetrics::increment_checked(std::string_view name, LabelSet labels, double amount) {
  Counter& c = checked(kCounter, name, labels).counter;
  if (amount == 1) {
    c.inc();
  } else {
    c.inc(amount);
  }
}

void NamedMetrics::observe_checked(std::string_view name, double value, LabelSet labels) {
  checked(kHistogram, name, labels).histogram.observe(value);
}

void NamedMetrics::set_checked(std::string_view name, double value, LabelSet labels) {
  checked(kGauge, name, labels).gauge.set(value);
}

ScopedTimer<Histogram> NamedMetrics::timer_checked(std::string_view name, LabelSet labels) {
  return ScopedTimer<Histogram>(checked(kTimer, name, labels).histogram);
}

Counter NamedMetrics::counter(std::string_view name, LabelSet labels) {
  return checked(kCounter, name, labels).counter;
}
Gauge NamedMetrics::gauge(std::string_view name, LabelSet labels) {
  return checked(kGauge, name, labels).gauge;
}
Histogram NamedMetrics::histogram(std::string_view name, LabelSet labels) {
  return checked(kHistogram, name, labels).histogram;
}

}  // namespace vigil::metrics
