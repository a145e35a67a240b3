#include "otlp_metric_encoding.h"

#include <google/protobuf/arena.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "core/detail/json_writer.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "otlp_encoding.h"
#include "otlp_encoding_pb.h"
#include "vigil/exporters/otlp_metric_exporter.h"

namespace vigil::exporters::detail {
namespace {

namespace pb_collector = opentelemetry::proto::collector::metrics::v1;
namespace pb_metrics = opentelemetry::proto::metrics::v1;
namespace pb_common = opentelemetry::proto::common::v1;
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

using PbAttributes = google::protobuf::RepeatedPtrField<pb_common::KeyValue>;

void add_string(PbAttributes* out, const std::string& key, const std::string& value) {
  pb_common::KeyValue* kv = out->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

void point_attributes(const MetricEncoding& how, const MetricFamily& f, const MetricPoint& p,
                      PbAttributes* out) {
  const std::size_t constants = how.attributes != nullptr ? how.attributes->size() : 0;
  const std::size_t n = std::min(f.label_names.size(), p.label_values.size());
  out->Reserve(static_cast<int>(constants + n));
  if (how.attributes != nullptr) {
    for (const auto& [k, v] : *how.attributes) add_string(out, k, v);
  }
  for (std::size_t i = 0; i < n; ++i) add_string(out, f.label_names[i], p.label_values[i]);
}

void to_proto(const ExemplarValue& e, pb_metrics::Exemplar* out) {
  const SplitExemplar s = split(e);
  for (const auto& [k, v] : e.labels) {
    if (!is_id_label(s, k)) add_string(out->mutable_filtered_attributes(), k, v);
  }
  out->set_time_unix_nano(unix_nanos(e.timestamp));
  out->set_as_double(e.value);
  if (s.has_span) out->set_span_id(s.span.data(), s.span.size());
  if (s.has_trace) out->set_trace_id(s.trace.data(), s.trace.size());
}

void encode_family(const MetricEncoding& how, const FamilyPlan& fp, uint64_t now,
                   pb_metrics::Metric* m) {
  const MetricFamily& f = *fp.family;
  m->set_name(metric_name(how, f));
  if (!f.help.empty()) m->set_description(f.help);
  if (!f.unit.empty()) m->set_unit(otlp_unit(f.unit));
  const auto temporality = fp.delta ? pb_metrics::AGGREGATION_TEMPORALITY_DELTA
                                    : pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
  const int n = static_cast<int>(f.points.size());
  switch (f.type) {
    case MetricType::kCounter:
    case MetricType::kInfo: {
      pb_metrics::Sum* sum = m->mutable_sum();
      sum->set_aggregation_temporality(temporality);
      sum->set_is_monotonic(f.type == MetricType::kCounter);
      sum->mutable_data_points()->Reserve(n);
      for (const MetricPoint& p : f.points) {
        pb_metrics::NumberDataPoint* dp = sum->add_data_points();
        point_attributes(how, f, p, dp->mutable_attributes());
        dp->set_start_time_unix_nano(start_nanos(how, p, fp.delta));
        dp->set_time_unix_nano(now);
        if (f.type == MetricType::kInfo) {
          dp->set_as_int(1);
        } else {
          dp->set_as_double(p.value);
          if (how.exemplars && p.exemplar) to_proto(*p.exemplar, dp->add_exemplars());
        }
      }
      break;
    }
    case MetricType::kGauge: {
      pb_metrics::Gauge* gauge = m->mutable_gauge();
      gauge->mutable_data_points()->Reserve(n);
      for (const MetricPoint& p : f.points) {
        pb_metrics::NumberDataPoint* dp = gauge->add_data_points();
        point_attributes(how, f, p, dp->mutable_attributes());
        dp->set_time_unix_nano(now);
        dp->set_as_double(p.value);
        if (how.exemplars && p.exemplar) to_proto(*p.exemplar, dp->add_exemplars());
      }
      break;
    }
    case MetricType::kHistogram: {
      pb_metrics::Histogram* h = m->mutable_histogram();
      h->set_aggregation_temporality(temporality);
      h->mutable_data_points()->Reserve(n);
      for (const MetricPoint& p : f.points) {
        pb_metrics::HistogramDataPoint* dp = h->add_data_points();
        point_attributes(how, f, p, dp->mutable_attributes());
        dp->set_start_time_unix_nano(start_nanos(how, p, fp.delta));
        dp->set_time_unix_nano(now);
        dp->set_count(p.count);
        dp->set_sum(p.sum);
        if (p.buckets.size() == f.bounds.size() + 1) {
          auto* counts = dp->mutable_bucket_counts();
          counts->Reserve(static_cast<int>(p.buckets.size()));
          uint64_t below = 0;
          for (uint64_t cumulative : p.buckets) {
            counts->AddAlreadyReserved(cumulative >= below ? cumulative - below : 0);
            below = std::max(below, cumulative);
          }
          auto* bounds = dp->mutable_explicit_bounds();
          bounds->Reserve(static_cast<int>(f.bounds.size()));
          for (double b : f.bounds) bounds->AddAlreadyReserved(b);
        }
        if (how.exemplars) {
          for (const auto& e : p.bucket_exemplars) {
            if (e) to_proto(*e, dp->add_exemplars());
          }
        }
      }
      break;
    }
    case MetricType::kSummary: {
      pb_metrics::Summary* s = m->mutable_summary();
      s->mutable_data_points()->Reserve(n);
      for (const MetricPoint& p : f.points) {
        pb_metrics::SummaryDataPoint* dp = s->add_data_points();
        point_attributes(how, f, p, dp->mutable_attributes());
        dp->set_start_time_unix_nano(start_nanos(how, p, false));
        dp->set_time_unix_nano(now);
        dp->set_count(p.count);
        dp->set_sum(p.sum);
        for (const auto& [q, v] : p.quantiles) {
          pb_metrics::SummaryDataPoint::ValueAtQuantile* qv = dp->add_quantile_values();
          qv->set_quantile(q);
          qv->set_value(v);
        }
      }
      break;
    }
  }
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

void write_point_attributes(JsonWriter& w, const MetricEncoding& how, const MetricFamily& f,
                            const MetricPoint& p) {
  const std::size_t n = std::min(f.label_names.size(), p.label_values.size());
  const bool constants = how.attributes != nullptr && !how.attributes->empty();
  if (n == 0 && !constants) return;
  w.key("attributes");
  w.open_array();
  if (constants) {
    for (const auto& [k, v] : *how.attributes) string_attribute(w, k, v);
  }
  for (std::size_t i = 0; i < n; ++i) string_attribute(w, f.label_names[i], p.label_values[i]);
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

void write_times(JsonWriter& w, uint64_t start, uint64_t now) {
  if (start != 0) {
    w.key("startTimeUnixNano");
    w.uint_string(start);
  }
  w.key("timeUnixNano");
  w.uint_string(now);
}

void write_family(JsonWriter& w, const MetricEncoding& how, const FamilyPlan& fp, uint64_t now) {
  const MetricFamily& f = *fp.family;
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
        w.element();
        w.open_object();
        write_point_attributes(w, how, f, p);
        write_times(w, gauge ? 0 : start_nanos(how, p, fp.delta), now);
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
        w.element();
        w.open_object();
        write_point_attributes(w, how, f, p);
        write_times(w, start_nanos(how, p, fp.delta), now);
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
          w.open_array();
          for (double b : f.bounds) {
            w.element();
            w.dbl(b);
          }
          w.close_array();
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
        w.element();
        w.open_object();
        write_point_attributes(w, how, f, p);
        write_times(w, start_nanos(how, p, false), now);
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
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<pb_collector::ExportMetricsServiceRequest>(&arena);
  pb_metrics::ResourceMetrics* rm = request->add_resource_metrics();
  if (how.resource != nullptr) {
    resource_to_proto(*how.resource, rm->mutable_resource());
    if (!how.resource->schema_url().empty()) rm->set_schema_url(how.resource->schema_url());
  }
  pb_metrics::ScopeMetrics* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name(std::string(how.scope_name));
  if (!how.scope_version.empty()) sm->mutable_scope()->set_version(std::string(how.scope_version));
  const uint64_t now = unix_nanos(snapshot.timestamp);
  sm->mutable_metrics()->Reserve(static_cast<int>(snapshot.families.size()));
  for (std::size_t i = 0; i < snapshot.families.size(); ++i) {
    if (snapshot.families[i].points.empty()) continue;
    encode_family(how, plan(snapshot, how, i), now, sm->add_metrics());
  }
  out.clear();
  if (!request->SerializeToString(&out)) {
    error = "protobuf serialisation failed (request over 2 GiB?)";
    return false;
  }
  return true;
}

void encode_metrics_json(const MetricsSnapshot& snapshot, const MetricEncoding& how,
                         std::string& out) {
  out.clear();
  out.reserve(256 + snapshot.series() * 200);
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
  const uint64_t now = unix_nanos(snapshot.timestamp);
  for (std::size_t i = 0; i < snapshot.families.size(); ++i) {
    if (snapshot.families[i].points.empty()) continue;
    write_family(w, how, plan(snapshot, how, i), now);
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
