#include "statsd_encoding.h"

#include <charconv>
#include <cmath>
#include <unordered_map>

#include "core/detail/shortest_double.h"

namespace vigil::exporters::statsd {

Packer::Packer(std::size_t max, Sink& sink) : max_(max), sink_(sink) { packet_.reserve(max); }

bool Packer::add(std::string_view unit) {
  begin_unit() += unit;
  return end_unit();
}

bool Packer::place_unit(std::size_t len) {
  if (len > max_) {
    packet_.resize(mark_);
    ++oversized_;
    return false;
  }
  // It does not fit here: send what was there, and the unit opens the next packet.
  moved_.assign(packet_, start_, len);
  packet_.resize(mark_);
  flush();
  packet_.swap(moved_);
  ++units_;
  return true;
}

void Packer::flush() {
  if (packet_.empty()) return;
  sink_.packet(packet_, units_);
  packet_.clear();
  units_ = 0;
}

bool append_value(std::string& out, double v) {
  if (!std::isfinite(v)) return false;
  if (v == 0) {
    out += '0';
    return true;
  }
  char buf[vigil::detail::kShortestDoubleChars];
  out.append(buf, static_cast<std::size_t>(vigil::detail::write_shortest_double(buf, v) - buf));
  return true;
}

namespace {

constexpr bool is_name_breaker(char c) noexcept {
  return c == ':' || c == '|' || c == '@' || c == '#' || c == ',' ||
         static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
}

constexpr bool is_tag_breaker(char c) noexcept {
  return c == ',' || c == '|' || c == '#' || c == '\r' || c == '\n' || c == '\0';
}

constexpr bool is_etsy_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

void sanitize_name(std::string& s) {
  for (char& c : s) {
    if (is_name_breaker(c)) c = '_';
  }
}

void append_tag_part(std::string& out, std::string_view s, bool key) {
  for (char c : s) out += (is_tag_breaker(c) || (key && c == ':')) ? '_' : c;
}

void append_etsy_segment(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += '_';
    return;
  }
  for (char c : s) out += is_etsy_char(c) ? c : '_';
}

void append_tags(std::string& out, const Tags& tags) {
  bool first = true;
  for (const auto& [k, v] : tags) {
    if (!first) out += ',';
    first = false;
    append_tag_part(out, k, true);
    if (!v.empty()) {
      out += ':';
      append_tag_part(out, v, false);
    }
  }
}

struct Encoder::Series {
  std::string key;  // label values, each followed by '\xff'
  // DogStatsD: the whole tag field, "|#" + constant tags + "k:v,k2:v2" (sanitised), or "" when
  // there is no tag; Etsy: ".v1.v2" (the name suffix).
  std::string labels;
  double value = 0;    // counter: the previous cumulative value
  uint64_t count = 0;  // histogram, summary
  double sum = 0;
  std::vector<uint64_t> buckets;
};

struct Encoder::FamilyState {
  metrics::MetricType type = metrics::MetricType::kGauge;
  std::vector<std::string> label_names;
  std::string base;               // prefix + name
  std::vector<std::string> keys;  // sanitised label names (tag keys or Etsy segments)
  // In the order of the previous snapshot (which the next one usually repeats: a series is then
  // found at its own position, without hashing), and an index by key for the others.
  std::vector<Series> series;
  std::unordered_map<std::string, std::size_t> index;
  uint64_t generation = 0;
};

struct Encoder::State {
  std::unordered_map<std::string, FamilyState> families;
  std::vector<Series> next;  // scratch: a family's series in the new snapshot's order
};

Encoder::~Encoder() = default;

std::size_t Encoder::tracked_series() const noexcept {
  std::size_t n = 0;
  for (const auto& [name, f] : state_->families) n += f.series.size();
  return n;
}

Encoder::Encoder(const StatsdOptions& options)
    : flavor_(options.flavor),
      etsy_labels_(options.etsy_labels),
      dots_(options.underscores_to_dots),
      send_unchanged_(options.send_unchanged_counters),
      buckets_(options.histogram_buckets),
      quantiles_(options.summary_quantiles) {
  prefix_ = options.prefix;
  if (!prefix_.empty() && prefix_.back() != '.') prefix_ += '.';
  if (flavor_ == StatsdFlavor::kDogStatsd) append_tags(constant_tags_, options.constant_tags);
  state_ = std::make_unique<State>();
}

std::string Encoder::metric_name(std::string_view name) const {
  std::string out = prefix_;
  const std::size_t start = out.size();
  out += name;
  if (dots_) {
    for (std::size_t i = start; i < out.size(); ++i) {
      if (out[i] == '_') out[i] = '.';
    }
  }
  sanitize_name(out);
  return out;
}

std::string Encoder::line_tail(std::string_view type, double sample_rate, const Tags& tags,
                               std::string* etsy_suffix) const {
  std::string tail = "|";
  tail += type;
  if (sample_rate < 1) {
    tail += "|@";
    append_value(tail, sample_rate);
  }
  if (flavor_ == StatsdFlavor::kDogStatsd) {
    if (!constant_tags_.empty() || !tags.empty()) {
      tail += "|#";
      tail += constant_tags_;
      if (!constant_tags_.empty() && !tags.empty()) tail += ',';
      append_tags(tail, tags);
    }
  } else if (etsy_suffix != nullptr && etsy_labels_ != StatsdEtsyLabels::kDrop) {
    for (const auto& [k, v] : tags) {
      *etsy_suffix += '.';
      if (etsy_labels_ == StatsdEtsyLabels::kAppendPairs) {
        append_etsy_segment(*etsy_suffix, k);
        *etsy_suffix += '.';
      }
      append_etsy_segment(*etsy_suffix, v);
    }
  }
  return tail;
}

std::string Encoder::encode_labels(const FamilyState& fam, const MetricPoint& p) const {
  std::string out;
  const std::size_t n = std::min(fam.keys.size(), p.label_values.size());
  if (flavor_ == StatsdFlavor::kDogStatsd) {
    std::string tags;
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) tags += ',';
      tags += fam.keys[i];
      if (!p.label_values[i].empty()) {
        tags += ':';
        append_tag_part(tags, p.label_values[i], false);
      }
    }
    if (!constant_tags_.empty() || !tags.empty()) {
      out = "|#";
      out += constant_tags_;
      if (!constant_tags_.empty() && !tags.empty()) out += ',';
      out += tags;
    }
  } else if (etsy_labels_ != StatsdEtsyLabels::kDrop) {
    const bool pairs = etsy_labels_ == StatsdEtsyLabels::kAppendPairs;
    for (std::size_t i = 0; i < n; ++i) {
      out += '.';
      if (pairs) {
        out += fam.keys[i];
        out += '.';
      }
      append_etsy_segment(out, p.label_values[i]);
    }
  }
  return out;
}

void Encoder::emit(const FamilyState& fam, const Series& s, std::string_view suffix, double value,
                   std::string_view type, std::string_view extra_key, std::string_view extra_value,
                   Packer& out, EncodeCounts& counts) {
  std::string& l = out.begin_unit();
  const std::size_t start = out.unit_start();
  l += fam.base;
  l += suffix;
  const bool etsy = flavor_ == StatsdFlavor::kEtsy;
  if (etsy) {
    l += s.labels;
    if (!extra_key.empty() && etsy_labels_ != StatsdEtsyLabels::kDrop) {
      l += '.';
      if (etsy_labels_ == StatsdEtsyLabels::kAppendPairs) {
        l += extra_key;
        l += '.';
      }
      append_etsy_segment(l, extra_value);
    }
  }
  const std::size_t name_end = l.size();
  l += ':';
  if (etsy && value < 0 && type == "g") {
    // Etsy StatsD reads "-5|g" as "subtract 5": set it to 0 first, in the same packet.
    l += "0|g\n";
    l.append(l, start, name_end - start);
    l += ':';
  }
  if (!append_value(l, value)) {
    out.cancel_unit();
    ++counts.unsendable;
    return;
  }
  l += '|';
  l += type;
  if (!etsy) {
    l += s.labels;  // "|#..." or ""
    if (!extra_key.empty()) {
      l += s.labels.empty() ? std::string_view("|#") : std::string_view(",");
      l += extra_key;
      l += ':';
      append_tag_part(l, extra_value, false);
    }
  }
  ++counts.units;
  out.end_unit();
}

namespace {

// Whether `key` is the label values each followed by '\xff' (what encode() keys series by),
// compared without building that key.
bool same_key(std::string_view key, const std::vector<std::string>& values) noexcept {
  std::size_t at = 0;
  for (const std::string& v : values) {
    if (key.size() - at < v.size() + 1 || key.compare(at, v.size(), v) != 0 ||
        key[at + v.size()] != '\xff') {
      return false;
    }
    at += v.size() + 1;
  }
  return at == key.size();
}

}  // namespace

void Encoder::encode(const MetricsSnapshot& cumulative, Packer& out, EncodeCounts& counts) {
  const uint64_t gen = ++generation_;
  std::vector<Series>& next_ = state_->next;
  for (const MetricFamily& f : cumulative.families) {
    if (f.type == metrics::MetricType::kInfo) continue;
    auto [fit, fresh] = state_->families.try_emplace(f.name);
    FamilyState& fam = fit->second;
    if (fresh || fam.type != f.type || fam.label_names != f.label_names) {
      // New, or registered anew with another shape: start over.
      fam.type = f.type;
      fam.label_names = f.label_names;
      fam.base = metric_name(f.name);
      fam.keys.clear();
      for (const std::string& k : f.label_names) {
        std::string key;
        if (flavor_ == StatsdFlavor::kDogStatsd) {
          append_tag_part(key, k, true);
        } else {
          append_etsy_segment(key, k);
        }
        fam.keys.push_back(std::move(key));
      }
      fam.series.clear();
      fam.index.clear();
    }
    fam.generation = gen;
    const bool histogram = f.type == metrics::MetricType::kHistogram;
    next_.clear();
    bool same_order = fam.series.size() == f.points.size();
    // While every series is where the previous snapshot had it, the state is updated in place;
    // from the first one that is not, the states move to next_ in the new order.
    bool in_place = true;
    for (std::size_t i = 0; i < f.points.size(); ++i) {
      const MetricPoint& p = f.points[i];
      Series* prev = nullptr;
      if (i < fam.series.size() && same_key(fam.series[i].key, p.label_values)) {
        prev = &fam.series[i];
      } else {
        same_order = false;
        if (in_place) {
          in_place = false;
          next_.reserve(f.points.size());
          for (std::size_t j = 0; j < i; ++j) next_.push_back(std::move(fam.series[j]));
        }
        key_.clear();
        for (const std::string& v : p.label_values) {
          key_ += v;
          key_ += '\xff';
        }
        const auto it = fam.index.find(key_);
        if (it != fam.index.end() && fam.series[it->second].key == key_) {
          prev = &fam.series[it->second];
        }
      }
      const bool first = prev == nullptr;
      if (in_place) {
        // prev is fam.series[i]: updated where it is.
      } else if (first) {
        Series added;
        added.key = key_;
        added.labels = encode_labels(fam, p);
        next_.push_back(std::move(added));
      } else {
        next_.push_back(std::move(*prev));
      }
      Series& s = in_place ? *prev : next_.back();
      switch (f.type) {
        case metrics::MetricType::kCounter: {
          const bool reset = first || p.value < s.value;
          const double delta = reset ? p.value : p.value - s.value;
          s.value = p.value;
          if (delta != 0 || send_unchanged_) emit(fam, s, {}, delta, "c", {}, {}, out, counts);
          break;
        }
        case metrics::MetricType::kGauge:
          emit(fam, s, {}, p.value, "g", {}, {}, out, counts);
          break;
        case metrics::MetricType::kHistogram:
        case metrics::MetricType::kSummary: {
          const bool reset =
              first || p.count < s.count || (histogram && s.buckets.size() != p.buckets.size());
          const uint64_t dcount = reset ? p.count : p.count - s.count;
          const double dsum = reset ? p.sum : p.sum - s.sum;
          if (dcount != 0 || dsum != 0 || send_unchanged_) {
            emit(fam, s, "_count", static_cast<double>(dcount), "c", {}, {}, out, counts);
            emit(fam, s, "_sum", dsum, "c", {}, {}, out, counts);
            if (histogram && buckets_) {
              for (std::size_t k = 0; k < p.buckets.size(); ++k) {
                const uint64_t b = p.buckets[k];
                const uint64_t before = reset ? 0 : s.buckets[k];
                bound_.clear();
                if (k < f.bounds.size()) {
                  append_value(bound_, f.bounds[k]);
                } else {
                  bound_ = "+Inf";
                }
                emit(fam, s, "_bucket", static_cast<double>(b >= before ? b - before : b), "c",
                     "le", bound_, out, counts);
              }
            }
          }
          s.count = p.count;
          s.sum = p.sum;
          if (histogram && buckets_) s.buckets = p.buckets;
          if (histogram && !buckets_) s.buckets.resize(p.buckets.size());
          if (!histogram && quantiles_) {
            for (const auto& [q, v] : p.quantiles) {
              bound_.clear();
              append_value(bound_, q);
              emit(fam, s, {}, v, "g", "quantile", bound_, out, counts);
            }
          }
          break;
        }
        case metrics::MetricType::kInfo:
          break;
      }
    }
    if (in_place && fam.series.size() == f.points.size()) continue;  // nothing moved
    if (in_place) {
      // The snapshot has fewer series, the first ones in place: keep those.
      fam.series.resize(f.points.size());
      same_order = false;
    } else {
      fam.series.swap(next_);
    }
    if (!same_order) {
      fam.index.clear();
      for (std::size_t j = 0; j < fam.series.size(); ++j) fam.index[fam.series[j].key] = j;
    }
  }
  // Forget the families this snapshot no longer has (vanished series went with `next_`).
  for (auto fit = state_->families.begin(); fit != state_->families.end();) {
    if (fit->second.generation != gen) {
      fit = state_->families.erase(fit);
    } else {
      ++fit;
    }
  }
}

}  // namespace vigil::exporters::statsd
