#include "otlp_metric_encoding.h"

#include <array>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/detail/json_escape.h"
#include "core/detail/json_writer.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "otlp_encoding.h"
#include "otlp_encoding_pb.h"
#include "protobuf_wire.h"
#include "vigil/exporters/otlp_metric_exporter.h"

namespace vigil::exporters::detail {
namespace {

namespace pb_metrics = opentelemetry::proto::metrics::v1;
using metrics::MetricType;
using vigil::detail::JsonWriter;

using TraceIdBytes = std::array<uint8_t, 16>;
using SpanIdBytes = std::array<uint8_t, 8>;

// How one family is sent.
struct FamilyPlan {
  const MetricFamily* family = nullptr;  // the cumulative family, or its delta
  bool delta = false;
};

FamilyPlan plan(const MetricsSnapshot& snapshot, const MetricEncoding& how, std::size_t i) {
  const MetricFamily& f = snapshot.families[i];
  if (how.deltas != nullptr &&
      (f.type == MetricType::kCounter || f.type == MetricType::kHistogram) &&
      i < how.deltas->families.size() && how.deltas->families[i].name == f.name) {
    return {&how.deltas->families[i], true};
  }
  return {&f, false};
}

std::string metric_name(const MetricEncoding& how, const MetricFamily& f) {
  std::string name;
  name.reserve(how.prefix.size() + f.name.size() + 5);
  name.append(how.prefix).append(f.name);
  if (f.type == MetricType::kInfo) name += "_info";
  return name;
}

uint64_t start_nanos(const MetricEncoding& how, const MetricPoint& p, bool delta) {
  if (delta || p.start_time > 0) return unix_nanos(p.start_time);
  return unix_nanos(how.default_start);
}

// An exemplar's labels split: trace_id and span_id (when valid hex ids) and the rest.
struct SplitExemplar {
  bool has_trace = false;
  bool has_span = false;
  TraceIdBytes trace{};
  SpanIdBytes span{};
};

SplitExemplar split(const ExemplarValue& e) {
  SplitExemplar s;
  for (const auto& [k, v] : e.labels) {
    if (k == "trace_id" && !s.has_trace) {
      s.has_trace = parse_hex_id(v, s.trace.data(), s.trace.size());
    } else if (k == "span_id" && !s.has_span) {
      s.has_span = parse_hex_id(v, s.span.data(), s.span.size());
    }
  }
  return s;
}

// Whether the exemplar label at `k` is carried by trace_id/span_id rather than an attribute.
bool is_id_label(const SplitExemplar& s, std::string_view k) {
  return (k == "trace_id" && s.has_trace) || (k == "span_id" && s.has_span);
}

// ---- protobuf ----------------------------------------------------------------------------------
// Written straight to the wire format (field numbers from proto/opentelemetry/proto/metrics/v1):
// building the generated messages for 10,000 series costs about three times as much. Proto3
// rules: scalar fields equal to their default are left out, except oneof members and `optional`
// fields (HistogramDataPoint.sum); repeated scalars are packed.

class Wire {
 public:
  explicit Wire(std::string& out) : out_(out) {}

  void varint(uint64_t v) {
    char b[kMaxVarintSize];
    put(b, put_varint(b, v));
  }
  void tag(uint32_t field, WireType type) { varint(wire_tag(field, type)); }
  void string(uint32_t field, std::string_view s) {
    char b[2 * kMaxVarintSize];
    put(b, put_varint(put_tag(b, field, WireType::kLengthDelimited), s.size()));
    out_.append(s);
  }
  void raw_fixed64(uint64_t v) {
    char b[8];
    put(b, put_fixed64(b, v));
  }
  void fixed64(uint32_t field, uint64_t v) {
    char b[kMaxVarintSize + 8];
    put(b, put_fixed64(put_tag(b, field, WireType::kFixed64), v));
  }
  void fixed64_nonzero(uint32_t field, uint64_t v) {
    if (v != 0) fixed64(field, v);
  }
  void dbl(uint32_t field, double v) { fixed64(field, std::bit_cast<uint64_t>(v)); }
  void dbl_nonzero(uint32_t field, double v) {
    if (std::bit_cast<uint64_t>(v) != 0) dbl(field, v);  // -0.0 is not the default
  }
  void uint(uint32_t field, uint64_t v) {
    char b[2 * kMaxVarintSize];
    put(b, put_varint(put_tag(b, field, WireType::kVarint), v));
  }
  // A length-delimited field whose content follows; close() writes its length. One byte is
  // set aside for the length; a longer content is moved to make room.
  std::size_t open(uint32_t field) {
    tag(field, WireType::kLengthDelimited);
    out_.push_back('\0');
    return out_.size();
  }
  void close(std::size_t content_at) {
    const std::size_t len = out_.size() - content_at;
    if (len < 0x80) {
      out_[content_at - 1] = static_cast<char>(len);
      return;
    }
    char head[kMaxVarintSize];
    const std::size_t n = static_cast<std::size_t>(put_varint(head, len) - head);
    out_.insert(content_at, n - 1, '\0');
    std::memcpy(out_.data() + content_at - 1, head, n);
  }
  void append(std::string_view bytes) { out_.append(bytes); }

 private:
  // Appends the bytes [begin, end) of a stack buffer.
  void put(const char* begin, const char* end) {
    out_.append(begin, static_cast<std::size_t>(end - begin));
  }

  std::string& out_;
};

// KeyValue{key, AnyValue{string_value}}.
void wire_string_attribute(Wire& w, uint32_t field, std::string_view key, std::string_view value) {
  const std::size_t kv = w.open(field);
  w.string(1, key);
  const std::size_t any = w.open(2);
  w.string(1, value);
  w.close(any);
  w.close(kv);
}

void wire_point_attributes(Wire& w, uint32_t field, const MetricEncoding& how,
                           const MetricFamily& f, const MetricPoint& p) {
  if (how.attributes != nullptr) {
    for (const auto& [k, v] : *how.attributes) wire_string_attribute(w, field, k, v);
  }
  const std::size_t n = std::min(f.label_names.size(), p.label_values.size());
  for (std::size_t i = 0; i < n; ++i) {
    wire_string_attribute(w, field, f.label_names[i], p.label_values[i]);
  }
}

// Opens a data point (field 1 of its Gauge / Sum / Histogram / Summary) and writes what every
// kind begins with: the attributes (field `attributes_field`), start_time_unix_nano (2, left
// out when 0) and time_unix_nano (3). Returns what close() takes.
std::size_t wire_point_head(Wire& w, uint32_t attributes_field, const MetricEncoding& how,
                            const MetricFamily& f, const MetricPoint& p, uint64_t start,
                            uint64_t now) {
  const std::size_t dp = w.open(1);
  wire_point_attributes(w, attributes_field, how, f, p);
  w.fixed64_nonzero(2, start);
  w.fixed64_nonzero(3, now);
  return dp;
}

void wire_exemplar(Wire& w, uint32_t field, const ExemplarValue& e) {
  const SplitExemplar s = split(e);
  const std::size_t at = w.open(field);
  for (const auto& [k, v] : e.labels) {
    if (!is_id_label(s, k)) wire_string_attribute(w, 7, k, v);
  }
  w.fixed64_nonzero(2, unix_nanos(e.timestamp));
  w.dbl(3, e.value);  // oneof member: always written
  if (s.has_span) {
    w.string(4, std::string_view(reinterpret_cast<const char*>(s.span.data()), s.span.size()));
  }
  if (s.has_trace) {
    w.string(5, std::string_view(reinterpret_cast<const char*>(s.trace.data()), s.trace.size()));
  }
  w.close(at);
}

void encode_family(Wire& w, const MetricEncoding& how, const FamilyPlan& fp, uint64_t now) {
  const MetricFamily& f = *fp.family;
  const std::size_t metric = w.open(2);  // ScopeMetrics.metrics
  w.string(1, metric_name(how, f));
  if (!f.help.empty()) w.string(2, f.help);
  if (!f.unit.empty()) w.string(3, otlp_unit(f.unit));
  const uint64_t temporality = fp.delta ? pb_metrics::AGGREGATION_TEMPORALITY_DELTA
                                        : pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
  switch (f.type) {
    case MetricType::kCounter:
    case MetricType::kInfo:
    case MetricType::kGauge: {
      const bool gauge = f.type == MetricType::kGauge;
      const std::size_t data = w.open(gauge ? 5 : 7);  // Metric.gauge / Metric.sum
      for (const MetricPoint& p : f.points) {
        const std::size_t dp =  // NumberDataPoint
            wire_point_head(w, 7, how, f, p, gauge ? 0 : start_nanos(how, p, fp.delta), now);
        if (f.type == MetricType::kInfo) {
          w.fixed64(6, 1);  // as_int (sfixed64)
        } else {
          w.dbl(4, p.value);  // as_double
          if (how.exemplars && p.exemplar) wire_exemplar(w, 5, *p.exemplar);
        }
        w.close(dp);
      }
      if (!gauge) {
        w.uint(2, temporality);
        if (f.type == MetricType::kCounter) w.uint(3, 1);  // is_monotonic
      }
      w.close(data);
      break;
    }
    case MetricType::kHistogram: {
      const std::size_t data = w.open(9);
      for (const MetricPoint& p : f.points) {
        const std::size_t dp =  // HistogramDataPoint
            wire_point_head(w, 9, how, f, p, start_nanos(how, p, fp.delta), now);
        w.fixed64_nonzero(4, p.count);
        w.dbl(5, p.sum);  // optional: always written
        if (p.buckets.size() == f.bounds.size() + 1) {
          w.tag(6, WireType::kLengthDelimited);  // packed fixed64
          w.varint(8 * p.buckets.size());
          uint64_t below = 0;
          for (uint64_t cumulative : p.buckets) {
            w.raw_fixed64(cumulative >= below ? cumulative - below : 0);
            below = std::max(below, cumulative);
          }
          if (!f.bounds.empty()) {
            w.tag(7, WireType::kLengthDelimited);  // packed double
            w.varint(8 * f.bounds.size());
            for (double b : f.bounds) w.raw_fixed64(std::bit_cast<uint64_t>(b));
          }
        }
        if (how.exemplars) {
          for (const auto& e : p.bucket_exemplars) {
            if (e) wire_exemplar(w, 8, *e);
          }
        }
        w.close(dp);
      }
      w.uint(2, temporality);
      w.close(data);
      break;
    }
    case MetricType::kSummary: {
      const std::size_t data = w.open(11);
      for (const MetricPoint& p : f.points) {
        const std::size_t dp =  // SummaryDataPoint
            wire_point_head(w, 7, how, f, p, start_nanos(how, p, false), now);
        w.fixed64_nonzero(4, p.count);
        w.dbl_nonzero(5, p.sum);
        for (const auto& [q, v] : p.quantiles) {
          const std::size_t qv = w.open(6);
          w.dbl_nonzero(1, q);
          w.dbl_nonzero(2, v);
          w.close(qv);
        }
        w.close(dp);
      }
      w.close(data);
      break;
    }
  }
  w.close(metric);
}

// ---- JSON --------------------------------------------------------------------------------------

void string_attribute(JsonWriter& w, std::string_view key, std::string_view value) {
  w.element();
  w.open_object();
  w.key("key");
  w.string(key);
  w.key("value");
  w.open_object();
  w.key("stringValue");
  w.string(value);
  w.close_object();
  w.close_object();
}

// What every point of an export, or of a family, shares, rendered once.
struct JsonShared {
  std::string now;        // "\"<time_unix_nano>\""
  std::string constants;  // the constant attributes' elements, comma-separated
};
struct JsonFamily {
  std::vector<std::string> label_heads;  // {"key":"<name>","value":{"stringValue":
  std::string bounds;                    // [b1,b2,...]
};

JsonFamily render_family(const MetricFamily& f) {
  JsonFamily out;
  out.label_heads.reserve(f.label_names.size());
  for (const std::string& name : f.label_names) {
    std::string& head = out.label_heads.emplace_back("{\"key\":");
    vigil::detail::append_json_string(head, name);
    head += ",\"value\":{\"stringValue\":";
  }
  JsonWriter w(out.bounds);
  w.open_array();
  for (double b : f.bounds) {
    w.element();
    w.dbl(b);
  }
  w.close_array();
  return out;
}

void write_point_attributes(JsonWriter& w, const JsonShared& shared, const JsonFamily& jf,
                            const MetricPoint& p) {
  const std::size_t n = std::min(jf.label_heads.size(), p.label_values.size());
  if (n == 0 && shared.constants.empty()) return;
  w.key("attributes");
  w.open_array();
  if (!shared.constants.empty()) {
    w.element();
    w.raw_value(shared.constants);
  }
  for (std::size_t i = 0; i < n; ++i) {
    w.element();
    w.raw(jf.label_heads[i]);
    w.string(p.label_values[i]);
    w.raw("}}");
  }
  w.close_array();
}

void write_exemplar(JsonWriter& w, const ExemplarValue& e) {
  const SplitExemplar s = split(e);
  w.element();
  w.open_object();
  bool any = false;
  for (const auto& [k, v] : e.labels) {
    if (is_id_label(s, k)) continue;
    if (!any) {
      w.key("filteredAttributes");
      w.open_array();
      any = true;
    }
    string_attribute(w, k, v);
  }
  if (any) w.close_array();
  w.key("timeUnixNano");
  w.uint_string(unix_nanos(e.timestamp));
  w.key("asDouble");
  w.dbl(e.value);
  if (s.has_span) {
    w.key("spanId");
    w.hex(s.span.data(), s.span.size());
  }
  if (s.has_trace) {
    w.key("traceId");
    w.hex(s.trace.data(), s.trace.size());
  }
  w.close_object();
}

// Opens a data point's object and writes what every kind begins with: its attributes, its start
// time (left out when 0) and its time.
void write_point_head(JsonWriter& w, const JsonShared& shared, const JsonFamily& jf,
                      const MetricPoint& p, uint64_t start) {
  w.element();
  w.open_object();
  write_point_attributes(w, shared, jf, p);
  if (start != 0) {
    w.key("startTimeUnixNano");
    w.uint_string(start);
  }
  w.key("timeUnixNano");
  w.raw_value(shared.now);
}

void write_family(JsonWriter& w, const MetricEncoding& how, const FamilyPlan& fp,
                  const JsonShared& shared) {
  const MetricFamily& f = *fp.family;
  const JsonFamily jf = render_family(f);
  const int temporality = fp.delta ? pb_metrics::AGGREGATION_TEMPORALITY_DELTA
                                   : pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
  w.element();
  w.open_object();
  w.key("name");
  w.string(metric_name(how, f));
  if (!f.help.empty()) {
    w.key("description");
    w.string(f.help);
  }
  if (!f.unit.empty()) {
    w.key("unit");
    w.string(otlp_unit(f.unit));
  }
  switch (f.type) {
    case MetricType::kCounter:
    case MetricType::kInfo:
    case MetricType::kGauge: {
      const bool gauge = f.type == MetricType::kGauge;
      w.key(gauge ? "gauge" : "sum");
      w.open_object();
      w.key("dataPoints");
      w.open_array();
      for (const MetricPoint& p : f.points) {
        write_point_head(w, shared, jf, p, gauge ? 0 : start_nanos(how, p, fp.delta));
        if (f.type == MetricType::kInfo) {
          w.key("asInt");
          w.int_string(1);
        } else {
          w.key("asDouble");
          w.dbl(p.value);
          if (how.exemplars && p.exemplar) {
            w.key("exemplars");
            w.open_array();
            write_exemplar(w, *p.exemplar);
            w.close_array();
          }
        }
        w.close_object();
      }
      w.close_array();
      if (!gauge) {
        w.key("aggregationTemporality");
        w.number(temporality);
        if (f.type == MetricType::kCounter) {
          w.key("isMonotonic");
          w.boolean(true);
        }
      }
      w.close_object();
      break;
    }
    case MetricType::kHistogram: {
      w.key("histogram");
      w.open_object();
      w.key("dataPoints");
      w.open_array();
      for (const MetricPoint& p : f.points) {
        write_point_head(w, shared, jf, p, start_nanos(how, p, fp.delta));
        w.key("count");
        w.uint_string(p.count);
        w.key("sum");
        w.dbl(p.sum);
        if (p.buckets.size() == f.bounds.size() + 1) {
          w.key("bucketCounts");
          w.open_array();
          uint64_t below = 0;
          for (uint64_t cumulative : p.buckets) {
            w.element();
            w.uint_string(cumulative >= below ? cumulative - below : 0);
            below = std::max(below, cumulative);
          }
          w.close_array();
          w.key("explicitBounds");
          w.raw_value(jf.bounds);
        }
        if (how.exemplars) {
          bool any = false;
          for (const auto& e : p.bucket_exemplars) {
            if (!e) continue;
            if (!any) {
              w.key("exemplars");
              w.open_array();
              any = true;
            }
            write_exemplar(w, *e);
          }
          if (any) w.close_array();
        }
        w.close_object();
      }
      w.close_array();
      w.key("aggregationTemporality");
      w.number(temporality);
      w.close_object();
      break;
    }
    case MetricType::kSummary: {
      w.key("summary");
      w.open_object();
      w.key("dataPoints");
      w.open_array();
      for (const MetricPoint& p : f.points) {
        write_point_head(w, shared, jf, p, start_nanos(how, p, false));
        w.key("count");
        w.uint_string(p.count);
        w.key("sum");
        w.dbl(p.sum);
        if (!p.quantiles.empty()) {
          w.key("quantileValues");
          w.open_array();
          for (const auto& [q, v] : p.quantiles) {
            w.element();
            w.open_object();
            w.key("quantile");
            w.dbl(q);
            w.key("value");
            w.dbl(v);
            w.close_object();
          }
          w.close_array();
        }
        w.close_object();
      }
      w.close_array();
      w.close_object();
      break;
    }
  }
  w.close_object();
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

uint64_t unix_nanos(double seconds) noexcept {
  // 1.8e10 s is beyond 2^64 ns.
  if (!(seconds > 0) || seconds >= 1.8e10) return 0;
  return static_cast<uint64_t>(std::llround(seconds * 1e9));
}

bool parse_hex_id(std::string_view hex, uint8_t* out, std::size_t n) noexcept {
  if (hex.size() != 2 * n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

bool encode_metrics_protobuf(const MetricsSnapshot& snapshot, const MetricEncoding& how,
                             std::string& out, std::string& error) {
  out.clear();
  out.reserve(256 + snapshot.series() * 160);
  Wire w(out);
  const std::size_t rm = w.open(1);  // ExportMetricsServiceRequest.resource_metrics
  if (how.resource != nullptr) {
    opentelemetry::proto::resource::v1::Resource resource;
    resource_to_proto(*how.resource, &resource);
    const std::size_t r = w.open(1);
    w.append(resource.SerializeAsString());
    w.close(r);
  }
  const std::size_t sm = w.open(2);  // ResourceMetrics.scope_metrics
  const std::size_t scope = w.open(1);
  w.string(1, how.scope_name);
  if (!how.scope_version.empty()) w.string(2, how.scope_version);
  w.close(scope);
  const uint64_t now = unix_nanos(snapshot.timestamp);
  for (std::size_t i = 0; i < snapshot.families.size(); ++i) {
    if (snapshot.families[i].points.empty()) continue;
    encode_family(w, how, plan(snapshot, how, i), now);
  }
  w.close(sm);
  if (how.resource != nullptr && !how.resource->schema_url().empty()) {
    w.string(3, how.resource->schema_url());
  }
  w.close(rm);
  if (out.size() > static_cast<std::size_t>(INT32_MAX)) {
    error = "the request exceeds protobuf's 2 GiB limit";
    return false;
  }
  return true;
}

void encode_metrics_json(const MetricsSnapshot& snapshot, const MetricEncoding& how,
                         std::string& out) {
  out.clear();
  out.reserve(256 + snapshot.series() * 320);
  JsonWriter w(out);
  w.open_object();
  w.key("resourceMetrics");
  w.open_array();
  w.element();
  w.open_object();
  if (how.resource != nullptr) {
    w.key("resource");
    write_resource_json(w, *how.resource);
  }
  w.key("scopeMetrics");
  w.open_array();
  w.element();
  w.open_object();
  w.key("scope");
  w.open_object();
  w.key("name");
  w.string(how.scope_name);
  if (!how.scope_version.empty()) {
    w.key("version");
    w.string(how.scope_version);
  }
  w.close_object();
  w.key("metrics");
  w.open_array();
  JsonShared shared;
  {
    JsonWriter sw(shared.now);
    sw.uint_string(unix_nanos(snapshot.timestamp));
    JsonWriter cw(shared.constants);
    if (how.attributes != nullptr) {
      for (const auto& [k, v] : *how.attributes) string_attribute(cw, k, v);
    }
  }
  for (std::size_t i = 0; i < snapshot.families.size(); ++i) {
    if (snapshot.families[i].points.empty()) continue;
    write_family(w, how, plan(snapshot, how, i), shared);
  }
  w.close_array();
  w.close_object();
  w.close_array();
  if (how.resource != nullptr && !how.resource->schema_url().empty()) {
    w.key("schemaUrl");
    w.string(how.resource->schema_url());
  }
  w.close_object();
  w.close_array();
  w.close_object();
}

}  // namespace vigil::exporters::detail
