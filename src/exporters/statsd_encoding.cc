#include "statsd_encoding.h"

#include <charconv>
#include <cmath>

namespace vigil::exporters::statsd {

Packer::Packer(std::size_t max, Sink& sink) : max_(max), sink_(sink) { packet_.reserve(max); }

bool Packer::add(std::string_view unit) {
  if (unit.size() > max_) {
    ++oversized_;
    return false;
  }
  if (!packet_.empty() && packet_.size() + 1 + unit.size() > max_) flush();
  if (!packet_.empty()) packet_ += '\n';
  packet_ += unit;
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
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
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

struct Encoder::Family {
  std::string base;               // prefix + name
  std::vector<std::string> keys;  // sanitised label names (tag keys or Etsy segments)
};

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
  line_.reserve(256);
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

void Encoder::emit(const Family& fam, const MetricPoint& p, std::string_view suffix, double value,
                   std::string_view type, std::string_view extra_key, std::string_view extra_value,
                   Packer& out, EncodeCounts& counts) {
  std::string& l = line_;
  l.clear();
  l += fam.base;
  l += suffix;
  const std::size_t labels = std::min(fam.keys.size(), p.label_values.size());
  const bool etsy = flavor_ == StatsdFlavor::kEtsy;
  if (etsy && etsy_labels_ != StatsdEtsyLabels::kDrop) {
    const bool pairs = etsy_labels_ == StatsdEtsyLabels::kAppendPairs;
    for (std::size_t i = 0; i < labels; ++i) {
      l += '.';
      if (pairs) {
        l += fam.keys[i];
        l += '.';
      }
      append_etsy_segment(l, p.label_values[i]);
    }
    if (!extra_key.empty()) {
      l += '.';
      if (pairs) {
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
    l.append(l.data(), name_end);
    l += ':';
  }
  if (!append_value(l, value)) {
    ++counts.unsendable;
    return;
  }
  l += '|';
  l += type;
  if (!etsy) {
    bool any = !constant_tags_.empty();
    if (any) {
      l += "|#";
      l += constant_tags_;
    }
    for (std::size_t i = 0; i < labels; ++i) {
      l += any ? ',' : '|';
      if (!any) l += '#';
      any = true;
      l += fam.keys[i];
      if (!p.label_values[i].empty()) {
        l += ':';
        append_tag_part(l, p.label_values[i], false);
      }
    }
    if (!extra_key.empty()) {
      l += any ? ',' : '|';
      if (!any) l += '#';
      l += extra_key;
      l += ':';
      append_tag_part(l, extra_value, false);
    }
  }
  ++counts.units;
  out.add(l);
}

void Encoder::encode(const MetricsSnapshot& deltas, Packer& out, EncodeCounts& counts) {
  Family fam;
  for (const MetricFamily& f : deltas.families) {
    if (f.type == metrics::MetricType::kInfo) continue;
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
    switch (f.type) {
      case metrics::MetricType::kCounter:
        for (const MetricPoint& p : f.points) {
          if (p.value == 0 && !send_unchanged_) continue;
          emit(fam, p, {}, p.value, "c", {}, {}, out, counts);
        }
        break;
      case metrics::MetricType::kGauge:
        for (const MetricPoint& p : f.points) emit(fam, p, {}, p.value, "g", {}, {}, out, counts);
        break;
      case metrics::MetricType::kHistogram:
      case metrics::MetricType::kSummary: {
        const bool histogram = f.type == metrics::MetricType::kHistogram;
        for (const MetricPoint& p : f.points) {
          if (p.count == 0 && p.sum == 0 && !send_unchanged_) {
            // Nothing observed in the window; summary quantiles are still current values.
          } else {
            emit(fam, p, "_count", static_cast<double>(p.count), "c", {}, {}, out, counts);
            emit(fam, p, "_sum", p.sum, "c", {}, {}, out, counts);
            if (histogram && buckets_) {
              for (std::size_t i = 0; i < p.buckets.size(); ++i) {
                bound_.clear();
                if (i < f.bounds.size()) {
                  append_value(bound_, f.bounds[i]);
                } else {
                  bound_ = "+Inf";
                }
                emit(fam, p, "_bucket", static_cast<double>(p.buckets[i]), "c", "le", bound_, out,
                     counts);
              }
            }
          }
          if (!histogram && quantiles_) {
            for (const auto& [q, v] : p.quantiles) {
              bound_.clear();
              append_value(bound_, q);
              emit(fam, p, {}, v, "g", "quantile", bound_, out, counts);
            }
          }
        }
        break;
      }
      case metrics::MetricType::kInfo:
        break;
    }
  }
}

}  // namespace vigil::exporters::statsd
