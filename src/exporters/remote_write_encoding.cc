// Prometheus remote write 1.0 encoding (remote_write_encoding.h). The WriteRequest is written in
// the protobuf wire format directly: each TimeSeries' size is computed first, then its bytes are
// written into one growing buffer, so that a series costs no allocation. Field numbers are those
// of proto/prometheus/{remote,types}.proto.
#include "remote_write_encoding.h"

#include <snappy.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>

#include "metrics/text_format.h"
#include "protobuf_wire.h"

namespace vigil::exporters::detail {
namespace {

using metrics::MetricType;

constexpr char kRequestSeries =
    wire_tag_byte(1, WireType::kLengthDelimited);  // WriteRequest.timeseries = 1
constexpr char kRequestMetadata =
    wire_tag_byte(3, WireType::kLengthDelimited);  // WriteRequest.metadata = 3
constexpr char kSeriesLabel = wire_tag_byte(
    1, WireType::kLengthDelimited);  // TimeSeries.labels = 1 (and Exemplar.labels = 1)
constexpr char kSeriesSample =
    wire_tag_byte(2, WireType::kLengthDelimited);  // TimeSeries.samples = 2
constexpr char kSeriesExemplar =
    wire_tag_byte(3, WireType::kLengthDelimited);  // TimeSeries.exemplars = 3
constexpr char kLabelName = wire_tag_byte(1, WireType::kLengthDelimited);   // Label.name = 1
constexpr char kLabelValue = wire_tag_byte(2, WireType::kLengthDelimited);  // Label.value = 2
constexpr char kSampleValue = wire_tag_byte(1, WireType::kFixed64);  // Sample.value = 1 (double)
constexpr char kSampleTime = wire_tag_byte(2, WireType::kVarint);    // Sample.timestamp = 2 (int64)
constexpr char kExemplarValue =
    wire_tag_byte(2, WireType::kFixed64);  // Exemplar.value = 2 (double)
constexpr char kExemplarTime =
    wire_tag_byte(3, WireType::kVarint);                         // Exemplar.timestamp = 3 (int64)
constexpr char kMetaType = wire_tag_byte(1, WireType::kVarint);  // MetricMetadata.type = 1
constexpr char kMetaName =
    wire_tag_byte(2, WireType::kLengthDelimited);  // MetricMetadata.metric_family_name = 2
constexpr char kMetaHelp = wire_tag_byte(4, WireType::kLengthDelimited);  // MetricMetadata.help = 4
constexpr char kMetaUnit = wire_tag_byte(5, WireType::kLengthDelimited);  // MetricMetadata.unit = 5

// A Label message's size (without its own tag and length).
std::size_t label_size(std::string_view name, std::string_view value) noexcept {
  return field_size(name.size()) + field_size(value.size());
}

char* put_label(char* p, std::string_view name, std::string_view value) noexcept {
  *p++ = kSeriesLabel;
  p = put_varint(p, label_size(name, value));
  p = put_field(p, kLabelName, name);
  return put_field(p, kLabelValue, value);
}

// An encoded Label field in a string (for the parts that repeat: __name__, le, externals).
void append_label(std::string& out, std::string_view name, std::string_view value) {
  const std::size_t n = field_size(label_size(name, value));
  const std::size_t at = out.size();
  out.resize(at + n);
  put_label(out.data() + at, name, value);
}

// A Sample message's size: a fixed64 value and a varint timestamp.
std::size_t sample_size(int64_t ms) noexcept {
  return 1 + 8 + 1 + varint_size(static_cast<uint64_t>(ms));
}

int64_t to_ms(double seconds) noexcept {
  const double ms = std::round(seconds * 1000.0);
  if (!(ms > -9.2e18 && ms < 9.2e18)) return 0;  // NaN or out of range
  return static_cast<int64_t>(ms);
}

// A value the user recorded that happens to be the staleness marker is sent as an ordinary NaN.
double sample_value(double v) noexcept {
  return std::bit_cast<uint64_t>(v) == kStaleNaNBits ? std::numeric_limits<double>::quiet_NaN() : v;
}

int metadata_type(MetricType t) noexcept {
  switch (t) {
    case MetricType::kCounter:
      return 1;
    case MetricType::kGauge:
      return 2;
    case MetricType::kHistogram:
      return 3;
    case MetricType::kSummary:
      return 5;
    case MetricType::kInfo:
      return 6;
  }
  return 0;
}

}  // namespace

// The writing state of one encode() call.
class RemoteWriteEncoder::Writer {
 public:
  Writer(RemoteWriteEncoder& e, std::vector<RemoteWriteBatch>& batches, int64_t ms)
      : e_(e), batches_(batches), ms_(ms), sample_size_(sample_size(ms)) {}

  // One label of a series, in sorted order.
  struct Slot {
    enum Kind : uint8_t {
      kName,                 // __name__: the variant's encoded label
      kValue,                // the family's label `index`: its value in the point
      kExternal,             // external label `index`: encoded once
      kExtra,                // le / quantile: given per series
      kExternalUnlessExtra,  // external label `index`, named le / quantile: when there is no extra
    };
    Kind kind;
    uint32_t index;
  };

  // Prepares the family: the sorted label layout, the encoded le labels.
  void begin_family(const MetricFamily& f) {
    family_ = &f;
    entries_.clear();
    entries_.push_back({"__name__", {Slot::kName, 0}});
    for (std::size_t i = 0; i < f.label_names.size(); ++i) {
      entries_.push_back({f.label_names[i], {Slot::kValue, static_cast<uint32_t>(i)}});
    }
    const std::string_view extra = f.type == MetricType::kHistogram ? "le"
                                   : f.type == MetricType::kSummary ? "quantile"
                                                                    : "";
    const auto& ext = e_.options_.external_labels;
    for (std::size_t i = 0; i < ext.size(); ++i) {
      if (std::find(f.label_names.begin(), f.label_names.end(), ext[i].first) !=
          f.label_names.end()) {
        continue;  // the series' own label wins
      }
      // An external le / quantile stays on _count and _sum, not on the buckets / quantiles.
      entries_.push_back({ext[i].first,
                          {ext[i].first == extra ? Slot::kExternalUnlessExtra : Slot::kExternal,
                           static_cast<uint32_t>(i)}});
    }
    if (!extra.empty()) entries_.push_back({extra, {Slot::kExtra, 0}});
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.name < b.name; });
    layout_.clear();
    for (const auto& en : entries_) layout_.push_back(en.slot);
    // The family's label names as encoded Label.name fields, written before each value.
    value_names_.resize(f.label_names.size());
    for (std::size_t i = 0; i < f.label_names.size(); ++i) {
      const std::string& n = f.label_names[i];
      std::string& field = value_names_[i];
      field.resize(field_size(n.size()));
      put_field(field.data(), kLabelName, n);
    }

    base_ = e_.options_.prefix;
    base_ += f.name;
    if (f.type == MetricType::kHistogram) {
      le_.clear();
      le_ends_.clear();
      for (const double b : f.bounds) {
        e_.scratch_.clear();
        metrics::detail::append_label_number(e_.scratch_, b, false);
        append_label(le_, "le", e_.scratch_);
        le_ends_.push_back(le_.size());
      }
      append_label(le_, "le", "+Inf");
      le_ends_.push_back(le_.size());
    }
  }

  // The encoded __name__ label of base_ + suffix, in `out`.
  void name_label(std::string& out, std::string_view suffix) {
    out.clear();
    e_.scratch_.assign(base_);
    e_.scratch_ += suffix;
    append_label(out, "__name__", e_.scratch_);
  }

  void metadata(const MetricFamily& f) {
    std::string_view suffix;
    if (f.type == MetricType::kCounter) suffix = "_total";
    if (f.type == MetricType::kInfo) suffix = "_info";
    const std::size_t name_len = base_.size() + suffix.size();
    std::size_t size = 2 + field_size(name_len);
    if (!f.help.empty()) size += field_size(f.help.size());
    if (!f.unit.empty()) size += field_size(f.unit.size());
    char* p = reserve(field_size(size));
    *p++ = kRequestMetadata;
    p = put_varint(p, size);
    *p++ = kMetaType;
    *p++ = static_cast<char>(metadata_type(f.type));
    *p++ = kMetaName;
    p = put_varint(p, name_len);
    p = put_bytes(p, base_);
    p = put_bytes(p, suffix);
    if (!f.help.empty()) p = put_field(p, kMetaHelp, f.help);
    if (!f.unit.empty()) put_field(p, kMetaUnit, f.unit);
  }

  // One series of the current family: `name` is the encoded __name__ label, `extra` the encoded
  // le / quantile label ("" when the layout has none).
  void series(const MetricPoint& p, std::string_view name, std::string_view extra, double value,
              const ExemplarValue* exemplar) {
    make_room();
    const auto& ext = e_.external_;
    std::size_t labels = 0;
    for (const Slot& s : layout_) {
      switch (s.kind) {
        case Slot::kName:
          labels += name.size();
          break;
        case Slot::kExternal:
          labels += ext[s.index].size();
          break;
        case Slot::kExternalUnlessExtra:
          if (extra.empty()) labels += ext[s.index].size();
          break;
        case Slot::kExtra:
          labels += extra.size();
          break;
        case Slot::kValue: {
          const std::string_view v = label_value(p, s.index);
          if (!v.empty()) labels += field_size(value_label_size(s.index, v));
          break;
        }
      }
    }
    std::size_t exemplar_size = 0;
    int64_t exemplar_ms = 0;
    if (exemplar != nullptr) {
      exemplar_ms = exemplar->timestamp > 0 ? to_ms(exemplar->timestamp) : ms_;
      for (const auto& [k, v] : exemplar->labels) {
        if (!k.empty() && !v.empty()) exemplar_size += field_size(label_size(k, v));
      }
      exemplar_size += 9 + 1 + varint_size(static_cast<uint64_t>(exemplar_ms));
    }
    std::size_t size = labels + field_size(sample_size_);
    if (exemplar != nullptr) size += field_size(exemplar_size);

    char* out = reserve(field_size(size));
    *out++ = kRequestSeries;
    out = put_varint(out, size);
    char* const labels_begin = out;
    for (const Slot& s : layout_) {
      switch (s.kind) {
        case Slot::kName:
          out = put_bytes(out, name);
          break;
        case Slot::kExternal:
          out = put_bytes(out, ext[s.index]);
          break;
        case Slot::kExternalUnlessExtra:
          if (extra.empty()) out = put_bytes(out, ext[s.index]);
          break;
        case Slot::kExtra:
          out = put_bytes(out, extra);
          break;
        case Slot::kValue: {
          const std::string_view v = label_value(p, s.index);
          if (!v.empty()) {
            *out++ = kSeriesLabel;
            out = put_varint(out, value_label_size(s.index, v));
            out = put_bytes(out, value_names_[s.index]);
            out = put_field(out, kLabelValue, v);
          }
          break;
        }
      }
    }
    track(std::string_view(labels_begin, static_cast<std::size_t>(out - labels_begin)));
    out = put_sample(out, sample_value(value));
    if (exemplar != nullptr) {
      *out++ = kSeriesExemplar;
      out = put_varint(out, exemplar_size);
      for (const auto& [k, v] : exemplar->labels) {
        if (!k.empty() && !v.empty()) out = put_label(out, k, v);
      }
      *out++ = kExemplarValue;
      out = put_double(out, exemplar->value);
      *out++ = kExemplarTime;
      put_varint(out, static_cast<uint64_t>(exemplar_ms));
    }
    ++samples_;
    ++series_;
  }

  // A staleness marker for a series whose encoded labels are `labels`.
  void stale(std::string_view labels) {
    make_room();
    const std::size_t size = labels.size() + field_size(sample_size_);
    char* out = reserve(field_size(size));
    *out++ = kRequestSeries;
    out = put_varint(out, size);
    out = put_bytes(out, labels);
    put_sample(out, std::bit_cast<double>(kStaleNaNBits));
    ++samples_;
    ++series_;
    ++stale_;
  }

  // Starts a new request when this one is full.
  void make_room() {
    if (samples_ >= e_.options_.max_samples_per_send) flush();
  }

  // Closes the current request (if it has anything) into the next batch.
  void flush() {
    const std::size_t size = len_ - start_;
    if (size == 0) return;
    if (used_ == batches_.size()) batches_.emplace_back();
    RemoteWriteBatch& b = batches_[used_++];
    b.raw_bytes = size;
    b.series = series_;
    b.samples = samples_;
    b.stale_markers = stale_;
    const char* raw = e_.raw_.data() + start_;
    if (e_.options_.compress) {
      // Into a buffer that only grows (a resize of the body would zero-fill it every time).
      std::string& buf = e_.compressed_;
      const std::size_t max = snappy::MaxCompressedLength(size);
      if (buf.size() < max) buf.resize(max);
      std::size_t n = 0;
      snappy::RawCompress(raw, size, buf.data(), &n);
      b.body.assign(buf.data(), n);
    } else {
      b.body.assign(raw, size);
    }
    start_ = len_;
    series_ = samples_ = stale_ = 0;
  }

  std::size_t used() const noexcept { return used_; }
  std::string_view le(std::size_t i) const noexcept {
    const std::size_t begin = i == 0 ? 0 : le_ends_[i - 1];
    return std::string_view(le_).substr(begin, le_ends_[i] - begin);
  }
  std::size_t le_count() const noexcept { return le_ends_.size(); }

 private:
  // The size of a Label message of the family's label i with value v.
  std::size_t value_label_size(uint32_t i, std::string_view v) const noexcept {
    return value_names_[i].size() + field_size(v.size());
  }

  static std::string_view label_value(const MetricPoint& p, uint32_t i) noexcept {
    return i < p.label_values.size() ? std::string_view(p.label_values[i]) : std::string_view();
  }

  char* put_sample(char* out, double value) const noexcept {
    *out++ = kSeriesSample;
    out = put_varint(out, sample_size_);
    *out++ = kSampleValue;
    out = put_double(out, value);
    *out++ = kSampleTime;
    return put_varint(out, static_cast<uint64_t>(ms_));
  }

  // Room for n more bytes of the request; returns where they go.
  char* reserve(std::size_t n) {
    std::string& raw = e_.raw_;
    if (len_ + n > raw.size()) raw.resize(std::max(len_ + n, raw.size() * 2));
    char* p = raw.data() + len_;
    len_ += n;
    return p;
  }

  // Remembers a series by its label bytes, which stay in e_.raw_ (kept until the next call).
  // The hash is computed only if the series changed (see encode()).
  void track(std::string_view labels) {
    if (!e_.options_.staleness_markers) return;
    e_.current_.push_back({0, static_cast<uint32_t>(labels.data() - e_.raw_.data()),
                           static_cast<uint32_t>(labels.size())});
  }

  RemoteWriteEncoder& e_;
  std::vector<RemoteWriteBatch>& batches_;
  const int64_t ms_;
  const std::size_t sample_size_;
  const MetricFamily* family_ = nullptr;
  // e_.raw_ holds every request of this call one after the other: the current one is
  // [start_, len_).
  std::size_t start_ = 0;
  std::size_t len_ = 0;
  std::size_t used_ = 0;
  std::size_t series_ = 0;
  std::size_t samples_ = 0;
  std::size_t stale_ = 0;
  struct Entry {
    std::string_view name;
    Slot slot;
  };
  std::vector<Entry> entries_;
  std::vector<Slot> layout_;
  std::vector<std::string> value_names_;
  std::string base_;
  std::string le_;
  std::vector<std::size_t> le_ends_;
};

RemoteWriteEncoder::RemoteWriteEncoder(RemoteWriteEncoding options) : options_(std::move(options)) {
  if (options_.max_samples_per_send == 0) options_.max_samples_per_send = 1;
  for (const auto& [name, value] : options_.external_labels) {
    append_label(external_.emplace_back(), name, value);
  }
}

std::size_t RemoteWriteEncoder::encode(const MetricsSnapshot& snapshot,
                                       std::vector<RemoteWriteBatch>& batches) {
  int64_t ms = to_ms(snapshot.timestamp);
  if (last_ms_ != INT64_MIN && ms <= last_ms_) ms = last_ms_ + 1;
  last_ms_ = ms;

  Writer w(*this, batches, ms);
  current_.clear();
  std::string name_a;
  std::string name_b;
  std::string name_c;
  std::string extra;
  for (const MetricFamily& f : snapshot.families) {
    if (f.points.empty()) continue;
    w.begin_family(f);
    if (options_.metadata) {
      w.make_room();
      w.metadata(f);
    }
    switch (f.type) {
      case MetricType::kCounter:
      case MetricType::kGauge:
      case MetricType::kInfo: {
        w.name_label(name_a, f.type == MetricType::kCounter ? "_total"
                             : f.type == MetricType::kInfo  ? "_info"
                                                            : "");
        for (const MetricPoint& p : f.points) {
          const ExemplarValue* ex = options_.exemplars && p.exemplar ? &*p.exemplar : nullptr;
          w.series(p, name_a, {}, f.type == MetricType::kInfo ? 1.0 : p.value, ex);
        }
        break;
      }
      case MetricType::kHistogram: {
        w.name_label(name_a, "_bucket");
        w.name_label(name_b, "_count");
        w.name_label(name_c, "_sum");
        const std::size_t nb = w.le_count();  // bounds + 1
        for (const MetricPoint& p : f.points) {
          for (std::size_t i = 0; i < nb; ++i) {
            // The +Inf bucket is the count (they must agree); a short bucket list counts as
            // empty buckets rather than inventing values.
            const uint64_t v = i + 1 == nb ? p.count : i < p.buckets.size() ? p.buckets[i] : 0;
            const ExemplarValue* ex = nullptr;
            if (options_.exemplars && i < p.bucket_exemplars.size() && p.bucket_exemplars[i]) {
              ex = &*p.bucket_exemplars[i];
            }
            w.series(p, name_a, w.le(i), static_cast<double>(v), ex);
          }
          w.series(p, name_b, {}, static_cast<double>(p.count), nullptr);
          w.series(p, name_c, {}, p.sum, nullptr);
        }
        break;
      }
      case MetricType::kSummary: {
        w.name_label(name_a, "");
        w.name_label(name_b, "_count");
        w.name_label(name_c, "_sum");
        for (const MetricPoint& p : f.points) {
          for (const auto& [q, v] : p.quantiles) {
            scratch_.clear();
            metrics::detail::append_label_number(scratch_, q, false);
            extra.clear();
            append_label(extra, "quantile", scratch_);
            w.series(p, name_a, extra, v, nullptr);
          }
          w.series(p, name_b, {}, static_cast<double>(p.count), nullptr);
          w.series(p, name_c, {}, p.sum, nullptr);
        }
        break;
      }
    }
  }

  if (options_.staleness_markers) {
    // Usually the same series come in the same order: nothing vanished, and a comparison of
    // the label bytes (faster than hashing them) says so.
    const auto labels_of = [](const std::string& raw, const Tracked& t) {
      return std::string_view(raw).substr(t.offset, t.size);
    };
    const bool same = previous_.size() == current_.size() &&
                      std::equal(previous_.begin(), previous_.end(), current_.begin(),
                                 [&](const Tracked& a, const Tracked& b) {
                                   return labels_of(previous_raw_, a) == labels_of(raw_, b);
                                 });
    if (!same && !previous_.empty()) {
      const auto by_hash = [](const Tracked& a, const Tracked& b) { return a.hash < b.hash; };
      const auto hashed = [&](std::vector<Tracked>& out, const std::vector<Tracked>& in,
                              const std::string& raw) {
        out.assign(in.begin(), in.end());
        for (Tracked& t : out) t.hash = std::hash<std::string_view>{}(labels_of(raw, t));
      };
      hashed(sorted_previous_, previous_, previous_raw_);
      hashed(sorted_current_, current_, raw_);
      std::sort(sorted_previous_.begin(), sorted_previous_.end(), by_hash);
      std::sort(sorted_current_.begin(), sorted_current_.end(), by_hash);
      // Every series of the previous call whose hash is not in this one's vanished.
      auto it = sorted_current_.begin();
      for (const Tracked& t : sorted_previous_) {
        while (it != sorted_current_.end() && it->hash < t.hash) ++it;
        if (it != sorted_current_.end() && it->hash == t.hash) continue;
        w.stale(labels_of(previous_raw_, t));
      }
    }
  }
  w.flush();
  if (options_.staleness_markers) {
    // This call's series (their label bytes in raw_) are the next call's previous ones.
    previous_.swap(current_);
    previous_raw_.swap(raw_);
  }
  return w.used();
}

}  // namespace vigil::exporters::detail
