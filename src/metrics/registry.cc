#include "vigil/metrics/registry.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/metrics/names.h"

namespace vigil::metrics {

// The constructors of Family and CallbackFamily, and CallbackFamily::collect, are private to
// users; this is the library's way to them (declared in vigil/metrics/family.h).
struct detail::RegistryAccess {
  template <class T, class... Args>
  static std::unique_ptr<T> make(Args&&... args) {
    return std::unique_ptr<T>(new T(std::forward<Args>(args)...));
  }
  static void collect(const CallbackFamily& f, MetricSink& sink, std::atomic<uint64_t>& errors,
                      bool empty_too = false) {
    f.collect(sink, errors, empty_too);
  }
};

namespace {

constexpr size_t kMaxLabels = 64;
constexpr std::string_view kOverflowFamily = "vigil_cardinality_overflow";
constexpr std::string_view kInvalidFamily = "vigil_invalid_observations";
constexpr std::string_view kCollectorErrorsFamily = "vigil_collector_errors";

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The sample names a family of this type writes (in both text formats).
std::vector<std::string> sample_names(const std::string& family, MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return {family + "_total", family + "_created"};
    case MetricType::kGauge:
      return {family};
    case MetricType::kHistogram:
      return {family + "_bucket", family + "_count", family + "_sum", family + "_created"};
    case MetricType::kSummary:
      return {family, family + "_count", family + "_sum", family + "_created"};
    case MetricType::kInfo:
      return {family + "_info"};
  }
  return {family};
}

// Family name as exposed (without the type suffix the formats add).
std::string family_name_for(std::string_view name, MetricType type) {
  if (type == MetricType::kCounter && name.ends_with("_total") && name.size() > 6) {
    name.remove_suffix(6);
  }
  if (type == MetricType::kInfo && name.ends_with("_info") && name.size() > 5) {
    name.remove_suffix(5);
  }
  return std::string(name);
}

void validate(std::string_view registered, const std::string& family, std::string_view help,
              MetricType type, const std::vector<std::string>& label_names,
              const MetricOptions& options) {
  const std::string what = std::string(to_string(type)) + " " + quoted(registered);
  if (!is_valid_metric_name(registered)) {
    throw Error(what + ": metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  if (family.starts_with("__")) throw Error(what + ": names starting with '__' are reserved");
  if (!is_valid_utf8(help)) throw Error(what + ": help text must be valid UTF-8");
  if (!options.unit.empty()) {
    if (!is_valid_unit(options.unit)) {
      throw Error(what + ": unit " + quoted(options.unit) + " must match [a-zA-Z0-9_]+");
    }
    if (!family.ends_with("_" + options.unit)) {
      throw Error(what + ": a metric with unit " + quoted(options.unit) +
                  " must have a name ending in '_" + options.unit + "' (OpenMetrics)");
    }
  }
  if (label_names.size() > kMaxLabels) {
    throw Error(what + ": at most " + std::to_string(kMaxLabels) + " label names");
  }
  if (options.cardinality_limit == 0) throw Error(what + ": cardinality_limit must be >= 1");
  std::unordered_set<std::string_view> seen;
  auto check_label = [&](std::string_view label) {
    if (!is_valid_label_name(label)) {
      throw Error(what + ": label name " + quoted(label) +
                  " must match [a-zA-Z_][a-zA-Z0-9_]* and not start with '__'");
    }
    if ((type == MetricType::kHistogram && label == "le") ||
        (type == MetricType::kSummary && label == "quantile")) {
      throw Error(what + ": label name " + quoted(label) + " is reserved for this type");
    }
    if (!seen.insert(label).second) throw Error(what + ": duplicate label name " + quoted(label));
  };
  for (const auto& [name, value] : options.const_labels) {
    check_label(name);
    if (!is_valid_utf8(value)) {
      throw Error(what + ": constant label " + quoted(name) + " must be valid UTF-8");
    }
  }
  for (const auto& label : label_names) check_label(label);
}

bool same_const_labels(const MetricOptions& a, const MetricOptions& b) {
  return a.unit == b.unit && a.const_labels == b.const_labels &&
         a.cardinality_limit == b.cardinality_limit && a.idle_expiry == b.idle_expiry;
}

struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Collects nothing but rethrows nothing: a sink adapter used for the registry's own families.
struct OwnFamily {
  std::string name;
  std::string help;
  MetricType type;
  std::vector<std::string> labels;
};

}  // namespace

// ---- CallbackFamily ----

CallbackFamily::CallbackFamily(std::string name, std::string help, MetricType type,
                               std::vector<std::string> label_names, MetricOptions options)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      options_(std::move(options)) {}

void CallbackFamily::add(std::vector<std::string> label_values, std::function<double()> fn) {
  if (label_values.size() != label_names_.size()) {
    throw Error("callback metric " + quoted(name_) + ": expected " +
                std::to_string(label_names_.size()) + " label values, got " +
                std::to_string(label_values.size()));
  }
  for (const auto& v : label_values) {
    if (!is_valid_utf8(v))
      throw Error("callback metric " + quoted(name_) + ": label values must be UTF-8");
  }
  if (!fn) throw Error("callback metric " + quoted(name_) + ": empty callback");
  std::lock_guard lock(mu_);
  for (Entry& e : entries_) {
    if (e.values == label_values) {
      e.fn = std::move(fn);
      return;
    }
  }
  entries_.push_back({std::move(label_values), std::move(fn), unix_time_seconds()});
}

bool CallbackFamily::remove(const std::vector<std::string>& label_values) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.values == label_values; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

size_t CallbackFamily::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void CallbackFamily::collect(MetricSink& sink, std::atomic<uint64_t>& errors,
                             bool empty_too) const {
  std::lock_guard lock(mu_);
  if (entries_.empty() && !empty_too) return;
  FamilyDesc desc;
  desc.name = name_;
  desc.help = help_;
  desc.unit = options_.unit;
  desc.type = type_;
  desc.label_names = label_names_;
  desc.const_labels = options_.const_labels;
  sink.begin_family(desc);
  std::vector<std::string_view> views(label_names_.size());
  for (const Entry& e : entries_) {
    double v;
    try {
      v = e.fn();
    } catch (...) {
      errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    std::copy(e.values.begin(), e.values.end(), views.begin());
    if (type_ == MetricType::kCounter) {
      sink.counter(views, v, e.created);
    } else {
      sink.gauge(views, v);
    }
  }
  sink.end_family();
}

// ---- Registry ----

struct Registry::Impl {
  using Owned = std::variant<std::unique_ptr<detail::FamilyBase>, std::unique_ptr<CallbackFamily>,
                             std::shared_ptr<const Collector>>;
  struct Entry {
    std::string family;  // family name ("" for collectors)
    Owned owned;
    bool listed = true;
  };
  mutable std::mutex mu;
  std::vector<Entry> entries;  // registration order; never shrinks
  // family name -> entry (transparent: read_family looks up string views)
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> by_name;
  std::unordered_map<std::string, std::string> samples;  // sample name -> family name
  mutable std::atomic<uint64_t> collector_errors{0};

  Impl() {
    for (std::string_view own : {kOverflowFamily, kInvalidFamily, kCollectorErrorsFamily}) {
      for (auto& s : sample_names(std::string(own), MetricType::kCounter)) samples[s] = own;
      samples[std::string(own)] = own;
    }
  }

  // Checks that `family` may be added: returns the existing entry of the same name, or null.
  Entry* check(const std::string& family, std::string_view registered, MetricType type) {
    auto it = by_name.find(family);
    if (it != by_name.end()) return &entries[it->second];
    for (const std::string& s : sample_names(family, type)) {
      auto clash = samples.find(s);
      if (clash != samples.end()) {
        throw Error(std::string(to_string(type)) + " " + quoted(registered) + ": its sample " +
                    quoted(s) + " clashes with metric " + quoted(clash->second));
      }
    }
    auto clash = samples.find(family);
    if (clash != samples.end()) {
      throw Error(std::string(to_string(type)) + " " + quoted(registered) +
                  ": name clashes with a sample of metric " + quoted(clash->second));
    }
    return nullptr;
  }

  void add(const std::string& family, MetricType type, Owned owned) {
    entries.push_back({family, std::move(owned), true});
    by_name[family] = entries.size() - 1;
    for (const std::string& s : sample_names(family, type)) samples[s] = family;
  }

  template <class Instrument, class... Extra>
  Family<Instrument>& family(std::string_view name, std::string_view help, MetricType type,
                             std::vector<std::string> label_names, MetricOptions options,
                             Extra&&... extra) {
    const std::string fname = family_name_for(name, type);
    validate(name, fname, help, type, label_names, options);
    std::lock_guard lock(mu);
    if (Entry* e = check(fname, name, type)) {
      auto* existing = std::get_if<std::unique_ptr<detail::FamilyBase>>(&e->owned);
      auto* typed = existing ? dynamic_cast<Family<Instrument>*>(existing->get()) : nullptr;
      const std::string what = std::string(to_string(type)) + " " + quoted(name);
      if (typed == nullptr) {
        throw Error(what + ": already registered with another type");
      }
      if (typed->help() != help) {
        throw Error(what + ": already registered with help " + quoted(typed->help()));
      }
      if (typed->label_names() != label_names) {
        throw Error(what + ": already registered with other label names");
      }
      if (!same_const_labels(typed->options(), options)) {
        throw Error(what +
                    ": already registered with other options (unit, constant labels, "
                    "cardinality limit or idle expiry)");
      }
      return *typed;
    }
    auto created = detail::RegistryAccess::make<Family<Instrument>>(
        fname, std::string(help), std::move(label_names), std::move(options),
        std::forward<Extra>(extra)...);
    Family<Instrument>& ref = *created;
    add(fname, type, std::unique_ptr<detail::FamilyBase>(std::move(created)));
    if (ref.label_names().empty()) ref.get();  // a family without labels exports 0 at once
    return ref;
  }

  CallbackFamily& callback(std::string_view name, std::string_view help, MetricType type,
                           std::vector<std::string> label_names, MetricOptions options) {
    const std::string fname = family_name_for(name, type);
    validate(name, fname, help, type, label_names, options);
    std::lock_guard lock(mu);
    if (check(fname, name, type) != nullptr) {
      throw Error(std::string(to_string(type)) + " " + quoted(name) +
                  ": a metric of that name is already registered");
    }
    auto created = detail::RegistryAccess::make<CallbackFamily>(
        fname, std::string(help), type, std::move(label_names), std::move(options));
    CallbackFamily& ref = *created;
    add(fname, type, std::move(created));
    return ref;
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Registry& Registry::global() {
  static Registry* registry = new Registry;  // never destroyed: handles may outlive main()
  return *registry;
}

Family<Counter>& Registry::counter(std::string_view name, std::string_view help,
                                   std::vector<std::string> label_names, MetricOptions options) {
  return impl_->family<Counter>(name, help, MetricType::kCounter, std::move(label_names),
                                std::move(options));
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names, MetricOptions options) {
  return impl_->family<Gauge>(name, help, MetricType::kGauge, std::move(label_names),
                              std::move(options));
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names,
                                       HistogramOptions histogram, MetricOptions options) {
  // Validate buckets before get-or-create compares them.
  Family<Histogram>& f = impl_->family<Histogram>(
      name, help, MetricType::kHistogram, std::move(label_names), std::move(options), histogram);
  std::vector<double> wanted = histogram.buckets;
  if (!wanted.empty() && std::isinf(wanted.back()) && wanted.back() > 0) wanted.pop_back();
  if (f.buckets() != wanted) {
    throw Error("histogram " + quoted(name) + ": already registered with other buckets");
  }
  return f;
}

Family<Summary>& Registry::summary(std::string_view name, std::string_view help,
                                   std::vector<std::string> label_names, SummaryOptions summary,
                                   MetricOptions options) {
  Family<Summary>& f = impl_->family<Summary>(name, help, MetricType::kSummary,
                                              std::move(label_names), std::move(options), summary);
  std::vector<double> wanted = summary.quantiles;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  const SummaryOptions& have = f.summary_options();
  if (have.quantiles != wanted || have.max_age != summary.max_age ||
      have.age_buckets != summary.age_buckets) {
    throw Error("summary " + quoted(name) + ": already registered with other quantiles or window");
  }
  return f;
}

Family<Info>& Registry::info(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names, MetricOptions options) {
  return impl_->family<Info>(name, help, MetricType::kInfo, std::move(label_names),
                             std::move(options));
}

CallbackFamily& Registry::callback_gauge(std::string_view name, std::string_view help,
                                         std::function<double()> fn, MetricOptions options) {
  if (!fn) throw Error("callback gauge " + quoted(name) + ": empty callback");
  CallbackFamily& f = callback_gauge_family(name, help, {}, std::move(options));
  f.add({}, std::move(fn));
  return f;
}

CallbackFamily& Registry::callback_counter(std::string_view name, std::string_view help,
                                           std::function<double()> fn, MetricOptions options) {
  if (!fn) throw Error("callback counter " + quoted(name) + ": empty callback");
  CallbackFamily& f = callback_counter_family(name, help, {}, std::move(options));
  f.add({}, std::move(fn));
  return f;
}

CallbackFamily& Registry::callback_gauge_family(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                MetricOptions options) {
  return impl_->callback(name, help, MetricType::kGauge, std::move(label_names),
                         std::move(options));
}

CallbackFamily& Registry::callback_counter_family(std::string_view name, std::string_view help,
                                                  std::vector<std::string> label_names,
                                                  MetricOptions options) {
  return impl_->callback(name, help, MetricType::kCounter, std::move(label_names),
                         std::move(options));
}

void Registry::add_collector(std::shared_ptr<const Collector> collector) {
  if (!collector) throw Error("add_collector: null collector");
  const std::vector<std::string> names = collector->family_names();
  std::lock_guard lock(impl_->mu);
  for (const std::string& n : names) {
    if (!is_valid_metric_name(n)) {
      throw Error("collector family " + quoted(n) + ": not a valid metric name");
    }
    if (impl_->by_name.count(n) != 0 || impl_->samples.count(n) != 0) {
      throw Error("collector family " + quoted(n) + ": clashes with a registered metric");
    }
  }
  impl_->entries.push_back({"", collector, true});
  for (const std::string& n : names) {
    impl_->by_name[n] = impl_->entries.size() - 1;
    impl_->samples[n] = n;
  }
}

bool Registry::remove(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  std::string key(name);
  auto it = impl_->by_name.find(key);
  if (it == impl_->by_name.end()) {
    for (MetricType t : {MetricType::kCounter, MetricType::kInfo}) {
      it = impl_->by_name.find(family_name_for(name, t));
      if (it != impl_->by_name.end()) break;
    }
  }
  if (it == impl_->by_name.end()) return false;
  Impl::Entry& e = impl_->entries[it->second];
  if (e.family.empty()) return false;  // collectors are not removed by name
  e.listed = false;
  for (auto s = impl_->samples.begin(); s != impl_->samples.end();) {
    s = s->second == e.family ? impl_->samples.erase(s) : std::next(s);
  }
  impl_->by_name.erase(it);
  return true;
}

void Registry::collect(MetricSink& sink) const {
  struct Item {
    const detail::FamilyBase* family = nullptr;
    const CallbackFamily* callback = nullptr;
    std::shared_ptr<const Collector> collector;
  };
  std::vector<Item> items;
  {
    std::lock_guard lock(impl_->mu);
    items.reserve(impl_->entries.size());
    for (const Impl::Entry& e : impl_->entries) {
      if (!e.listed) continue;
      Item item;
      if (auto* f = std::get_if<std::unique_ptr<detail::FamilyBase>>(&e.owned)) {
        item.family = f->get();
      } else if (auto* c = std::get_if<std::unique_ptr<CallbackFamily>>(&e.owned)) {
        item.callback = c->get();
      } else {
        item.collector = std::get<std::shared_ptr<const Collector>>(e.owned);
      }
      items.push_back(std::move(item));
    }
  }
  std::vector<std::pair<std::string, uint64_t>> overflow;
  std::vector<std::tuple<std::string, std::string_view, uint64_t>> invalid;
  for (const Item& item : items) {
    if (item.family != nullptr) {
      auto* f = const_cast<detail::FamilyBase*>(item.family);
      f->expire_idle();
      f->collect(sink);
      if (uint64_t n = f->overflow_count()) overflow.emplace_back(f->name(), n);
      const auto& st = f->record_stats();
      if (uint64_t n = st.negative.load(std::memory_order_relaxed)) {
        invalid.emplace_back(f->name(), "negative_increment", n);
      }
      if (uint64_t n = st.nan.load(std::memory_order_relaxed)) {
        invalid.emplace_back(f->name(), "nan", n);
      }
      if (uint64_t n = st.bad_exemplar.load(std::memory_order_relaxed)) {
        invalid.emplace_back(f->name(), "invalid_exemplar", n);
      }
      if (uint64_t n = f->invalid_label_values()) {
        invalid.emplace_back(f->name(), "invalid_label_value", n);
      }
    } else if (item.callback != nullptr) {
      detail::RegistryAccess::collect(*item.callback, sink, impl_->collector_errors);
    } else {
      try {
        item.collector->collect(sink);
      } catch (...) {
        impl_->collector_errors.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  // The registry's own counters, written only when non-zero.
  static const std::vector<std::string> kMetricLabel = {"metric"};
  static const std::vector<std::string> kMetricReasonLabels = {"metric", "reason"};
  const double now_created = 0;
  if (!overflow.empty()) {
    FamilyDesc d;
    d.name = kOverflowFamily;
    d.help = "Lookups of new label sets folded into the overflow series by the cardinality limit";
    d.type = MetricType::kCounter;
    d.label_names = kMetricLabel;
    sink.begin_family(d);
    for (const auto& [name, n] : overflow) {
      std::string_view v[1] = {name};
      sink.counter(v, static_cast<double>(n), now_created);
    }
    sink.end_family();
  }
  if (!invalid.empty()) {
    FamilyDesc d;
    d.name = kInvalidFamily;
    d.help = "Recordings rejected (negative counter increments, NaN) or label values repaired";
    d.type = MetricType::kCounter;
    d.label_names = kMetricReasonLabels;
    sink.begin_family(d);
    for (const auto& [name, reason, n] : invalid) {
      std::string_view v[2] = {name, reason};
      sink.counter(v, static_cast<double>(n), now_created);
    }
    sink.end_family();
  }
  if (uint64_t n = impl_->collector_errors.load(std::memory_order_relaxed)) {
    FamilyDesc d;
    d.name = kCollectorErrorsFamily;
    d.help = "Collectors and callbacks that threw during collection";
    d.type = MetricType::kCounter;
    sink.begin_family(d);
    sink.counter({}, static_cast<double>(n), now_created);
    sink.end_family();
  }
}

bool Registry::read_family(std::string_view name, MetricSink& sink) const {
  const detail::FamilyBase* family = nullptr;
  const CallbackFamily* callback = nullptr;
  {
    std::lock_guard lock(impl_->mu);
    // The name as given, else without the suffix a counter or info metric may be registered
    // with (heterogeneous lookups: no allocation).
    auto it = impl_->by_name.find(name);
    for (std::string_view suffix : {std::string_view("_total"), std::string_view("_info")}) {
      if (it != impl_->by_name.end()) break;
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        it = impl_->by_name.find(name.substr(0, name.size() - suffix.size()));
      }
    }
    if (it == impl_->by_name.end()) return false;
    const Impl::Entry& e = impl_->entries[it->second];
    if (auto* f = std::get_if<std::unique_ptr<detail::FamilyBase>>(&e.owned)) {
      family = f->get();
    } else if (auto* c = std::get_if<std::unique_ptr<CallbackFamily>>(&e.owned)) {
      callback = c->get();
    } else {
      return false;  // a collector's family
    }
  }
  // Families live as long as the registry: safe to read without the registry's lock.
  if (family != nullptr) {
    family->read(sink);
    return true;
  }
  detail::RegistryAccess::collect(*callback, sink, impl_->collector_errors, true);
  return true;
}

std::vector<Registry::FamilySummary> Registry::list() const {
  std::lock_guard lock(impl_->mu);
  std::vector<FamilySummary> out;
  for (const Impl::Entry& e : impl_->entries) {
    if (!e.listed || e.family.empty()) continue;
    if (auto* f = std::get_if<std::unique_ptr<detail::FamilyBase>>(&e.owned)) {
      out.push_back({(*f)->name(), (*f)->type(), (*f)->help(), (*f)->label_names(), (*f)->size()});
    } else if (auto* c = std::get_if<std::unique_ptr<CallbackFamily>>(&e.owned)) {
      out.push_back({(*c)->name(), (*c)->type(), (*c)->help(), (*c)->label_names(), (*c)->size()});
    }
  }
  return out;
}

size_t Registry::family_count() const { return list().size(); }

size_t Registry::series_count() const {
  size_t n = 0;
  for (const FamilySummary& f : list()) n += f.series;
  return n;
}

}  // namespace vigil::metrics
