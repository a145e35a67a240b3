// Tests for the Prometheus text 0.0.4 and OpenMetrics 1.0.0 writers (TextSink), content types,
// Accept-header negotiation, and validation of both outputs with `promtool check metrics`.
#include "vigil/metrics/exposition.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A hand-made family: owns what FamilyDesc points to.
struct TestFamily {
  std::string name;
  std::string help;
  std::string unit;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<LabelPair> const_labels;

  FamilyDesc desc() const {
    FamilyDesc d;
    d.name = name;
    d.help = help;
    d.unit = unit;
    d.type = type;
    d.label_names = label_names;
    d.const_labels = const_labels;
    return d;
  }
};

using Values = std::vector<std::string_view>;

std::string render(Format format, const std::function<void(MetricSink&)>& emit) {
  std::string out;
  TextSink sink(out, format);
  emit(sink);
  sink.finish();
  return out;
}

std::string prom(const std::function<void(MetricSink&)>& emit) {
  return render(Format::kPrometheusText, emit);
}
std::string om(const std::function<void(MetricSink&)>& emit) {
  return render(Format::kOpenMetrics, emit);
}

// One gauge sample with no labels, to test number formatting.
std::string gauge_value(double v) {
  const TestFamily f{"g", "", "", MetricType::kGauge, {}, {}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.gauge({}, v);
    s.end_family();
  });
  // "# TYPE g gauge\ng <value>\n"
  const std::string prefix = "# TYPE g gauge\ng ";
  EXPECT_EQ(text.substr(0, prefix.size()), prefix);
  return text.substr(prefix.size(), text.size() - prefix.size() - 1);
}

// The `le` values a histogram with these bounds writes, space separated.
std::string le_values(Format format, const std::vector<double>& bounds) {
  const TestFamily f{"h", "", "", MetricType::kHistogram, {}, {}};
  std::vector<uint64_t> cumulative(bounds.size() + 1, 0);
  HistogramPoint p;
  p.bounds = bounds;
  p.cumulative = cumulative;
  const std::string text = render(format, [&](MetricSink& s) {
    s.begin_family(f.desc());
    s.histogram({}, p);
    s.end_family();
  });
  std::string result;
  std::size_t pos = 0;
  while ((pos = text.find("le=\"", pos)) != std::string::npos) {
    pos += 4;
    const std::size_t end = text.find('"', pos);
    if (!result.empty()) result += ' ';
    result += text.substr(pos, end - pos);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Prometheus text 0.0.4

TEST(PrometheusText, CounterWritesTotalInMetadataAndSamples) {
  const TestFamily f{"http_requests",      "Requests served.", "",
                     MetricType::kCounter, {"method", "code"}, {{"service", "api"}}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.counter(Values{"GET", "200"}, 1027, 1700000000.5);
    s.counter(Values{"POST", "500"}, 3, 0);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# HELP http_requests_total Requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{service=\"api\",method=\"GET\",code=\"200\"} 1027\n"
            "http_requests_total{service=\"api\",method=\"POST\",code=\"500\"} 3\n");
}

TEST(PrometheusText, GaugeWithAndWithoutLabels) {
  const TestFamily plain{"queue_depth", "Jobs waiting.", "", MetricType::kGauge, {}, {}};
  const TestFamily labelled{"temperature_celsius", "Temperature.", "celsius",
                            MetricType::kGauge,    {"room"},       {}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(plain.desc());
    s.gauge({}, 3);
    s.end_family();
    s.begin_family(labelled.desc());
    s.gauge(Values{"kitchen"}, 21.5);
    s.gauge(Values{"cellar"}, -4.25);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# HELP queue_depth Jobs waiting.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 3\n"
            "# HELP temperature_celsius Temperature.\n"
            "# TYPE temperature_celsius gauge\n"
            "temperature_celsius{room=\"kitchen\"} 21.5\n"
            "temperature_celsius{room=\"cellar\"} -4.25\n");
}

TEST(PrometheusText, ConstLabelsOnlySeries) {
  const TestFamily f{"up", "Is it up.", "", MetricType::kGauge, {}, {{"job", "a"}, {"zone", "b"}}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.gauge({}, 1);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# HELP up Is it up.\n"
            "# TYPE up gauge\n"
            "up{job=\"a\",zone=\"b\"} 1\n");
}

TEST(PrometheusText, Histogram) {
  const TestFamily f{"request_seconds",      "Request latency.", "seconds",
                     MetricType::kHistogram, {"path"},           {}};
  const std::vector<double> bounds{0.005, 0.5, 1, 10};
  const std::vector<uint64_t> cumulative{1, 2, 3, 3, 4};
  HistogramPoint p;
  p.bounds = bounds;
  p.cumulative = cumulative;
  p.count = 4;
  p.sum = 12.5;
  p.created = 1700000000;
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.histogram(Values{"/"}, p);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# HELP request_seconds Request latency.\n"
            "# TYPE request_seconds histogram\n"
            "request_seconds_bucket{path=\"/\",le=\"0.005\"} 1\n"
            "request_seconds_bucket{path=\"/\",le=\"0.5\"} 2\n"
            "request_seconds_bucket{path=\"/\",le=\"1\"} 3\n"
            "request_seconds_bucket{path=\"/\",le=\"10\"} 3\n"
            "request_seconds_bucket{path=\"/\",le=\"+Inf\"} 4\n"
            "request_seconds_sum{path=\"/\"} 12.5\n"
            "request_seconds_count{path=\"/\"} 4\n");
}

TEST(PrometheusText, HistogramWithoutLabelsAndSeveralSeries) {
  const TestFamily f{"size_bytes", "Sizes.", "", MetricType::kHistogram, {"k"}, {}};
  const std::vector<double> bounds{100};
  const std::vector<uint64_t> a{1, 2};
  const std::vector<uint64_t> b{0, 0};
  const std::vector<double> other_bounds{1, 2};
  const std::vector<uint64_t> c{1, 1, 1};
  HistogramPoint pa{bounds, a, 2, 150, 0};
  HistogramPoint pb{bounds, b, 0, 0, 0};
  HistogramPoint pc{other_bounds, c, 1, 0.5, 0};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.histogram(Values{"a"}, pa);
    s.histogram(Values{"b"}, pb);
    s.histogram(Values{"c"}, pc);  // another layout: the cached le strings must be redone
    s.end_family();
  });
  EXPECT_EQ(text,
            "# HELP size_bytes Sizes.\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{k=\"a\",le=\"100\"} 1\n"
            "size_bytes_bucket{k=\"a\",le=\"+Inf\"} 2\n"
            "size_bytes_sum{k=\"a\"} 150\n"
            "size_bytes_count{k=\"a\"} 2\n"
            "size_bytes_bucket{k=\"b\",le=\"100\"} 0\n"
            "size_bytes_bucket{k=\"b\",le=\"+Inf\"} 0\n"
            "size_bytes_sum{k=\"b\"} 0\n"
            "size_bytes_count{k=\"b\"} 0\n"
            "size_bytes_bucket{k=\"c\",le=\"1\"} 1\n"
            "size_bytes_bucket{k=\"c\",le=\"2\"} 1\n"
            "size_bytes_bucket{k=\"c\",le=\"+Inf\"} 1\n"
            "size_bytes_sum{k=\"c\"} 0.5\n"
            "size_bytes_count{k=\"c\"} 1\n");

  const TestFamily bare{"wait_seconds", "Waits.", "", MetricType::kHistogram, {}, {}};
  const std::vector<double> one{1};
  const std::vector<uint64_t> cum{0, 1};
  HistogramPoint p{one, cum, 1, 2.5, 0};
  EXPECT_EQ(prom([&](MetricSink& s) {
              s.begin_family(bare.desc());
              s.histogram({}, p);
              s.end_family();
            }),
            "# HELP wait_seconds Waits.\n"
            "# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"1\"} 0\n"
            "wait_seconds_bucket{le=\"+Inf\"} 1\n"
            "wait_seconds_sum 2.5\n"
            "wait_seconds_count 1\n");
}

TEST(PrometheusText, Summary) {
  const TestFamily f{"rpc_seconds",        "RPC latency.", "seconds",
                     MetricType::kSummary, {"service"},    {}};
  const std::vector<std::pair<double, double>> quantiles{{0.5, 0.012}, {0.9, 0.25}, {0.99, kNaN}};
  SummaryPoint p;
  p.quantiles = quantiles;
  p.count = 17;
  p.sum = 3.5;
  p.created = 1700000000;
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.summary(Values{"auth"}, p);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# HELP rpc_seconds RPC latency.\n"
            "# TYPE rpc_seconds summary\n"
            "rpc_seconds{service=\"auth\",quantile=\"0.5\"} 0.012\n"
            "rpc_seconds{service=\"auth\",quantile=\"0.9\"} 0.25\n"
            "rpc_seconds{service=\"auth\",quantile=\"0.99\"} NaN\n"
            "rpc_seconds_sum{service=\"auth\"} 3.5\n"
            "rpc_seconds_count{service=\"auth\"} 17\n");
}

TEST(PrometheusText, InfoIsAGaugeNamedInfo) {
  const TestFamily f{"build",           "Build information.",  "",
                     MetricType::kInfo, {"version", "commit"}, {}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.info(Values{"1.2.3", "abc123"});
    s.end_family();
  });
  EXPECT_EQ(text,
            "# HELP build_info Build information.\n"
            "# TYPE build_info gauge\n"
            "build_info{version=\"1.2.3\",commit=\"abc123\"} 1\n");
}

TEST(PrometheusText, EmptyHelpWritesNoHelpLineAndFinishWritesNothing) {
  const TestFamily f{"x", "", "", MetricType::kGauge, {"a"}, {}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.end_family();
  });
  EXPECT_EQ(text, "# TYPE x gauge\n");
}

TEST(PrometheusText, Escaping) {
  const TestFamily f{"escapes", "Line one\nback\\slash \"quoted\" caf\xC3\xA9",
                     "",        MetricType::kGauge,
                     {"v"},     {{"c", "q\"b\\n\n"}}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.gauge(Values{"a\"b\\c\nd"}, 1);
    s.gauge(Values{"h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80"}, 2);
    s.gauge(Values{""}, 3);
    s.end_family();
  });
  EXPECT_EQ(text,
            // HELP in 0.0.4 escapes only backslash and line feed; quotes stay as they are.
            "# HELP escapes Line one\\nback\\\\slash \"quoted\" caf\xC3\xA9\n"
            "# TYPE escapes gauge\n"
            "escapes{c=\"q\\\"b\\\\n\\n\",v=\"a\\\"b\\\\c\\nd\"} 1\n"
            "escapes{c=\"q\\\"b\\\\n\\n\",v=\"h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC "
            "\xF0\x9F\x98\x80\"} 2\n"
            "escapes{c=\"q\\\"b\\\\n\\n\",v=\"\"} 3\n");
}

TEST(PrometheusText, InvalidUtf8BecomesReplacementCharacter) {
  const TestFamily f{"bad", "help \xFF", "", MetricType::kGauge, {"v"}, {}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    // A lone continuation byte, a truncated sequence, an overlong "/", a surrogate.
    s.gauge(Values{"a\x80z"}, 1);
    s.gauge(Values{"b\xE2\x9C"}, 2);
    s.gauge(Values{"c\xC0\xAF"}, 3);
    s.gauge(Values{"d\xED\xA0\x80"}, 4);
    s.end_family();
  });
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(text, "# HELP bad help " + r + "\n# TYPE bad gauge\n" + "bad{v=\"a" + r + "z\"} 1\n" +
                      "bad{v=\"b" + r + r + "\"} 2\n" + "bad{v=\"c" + r + r + "\"} 3\n" +
                      "bad{v=\"d" + r + r + r + "\"} 4\n");
}

// A byte-at-a-time reference for label value escaping (valid UTF-8 input).
std::string reference_escape(std::string_view v) {
  std::string r;
  for (const char c : v) {
    if (c == '\\') {
      r += "\\\\";
    } else if (c == '"') {
      r += "\\\"";
    } else if (c == '\n') {
      r += "\\n";
    } else {
      r += c;
    }
  }
  return r;
}

TEST(PrometheusText, EscapingAtEveryPositionOfLongValues) {
  // The escaper skips 8 plain bytes at a time: put each special character (and a multi-byte
  // and an invalid UTF-8 sequence) at every offset of values of several lengths.
  const TestFamily f{"p", "", "", MetricType::kGauge, {"v"}, {}};
  const std::vector<std::string> specials{
      "\\", "\"", "\n", "\xC3\xA9", "\xE2\x9C\x93", "\xF0\x9F\x98\x80", "\\\\\"\"\n\n"};
  for (std::size_t length = 0; length <= 24; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      for (const std::string& special : specials) {
        std::string value(length, 'a');
        value.insert(at, special);
        const std::string text = prom([&](MetricSink& s) {
          s.begin_family(f.desc());
          s.gauge(Values{value}, 1);
          s.end_family();
        });
        ASSERT_EQ(text, "# TYPE p gauge\np{v=\"" + reference_escape(value) + "\"} 1\n")
            << "length " << length << " at " << at;
      }
      std::string invalid(length, 'b');
      invalid.insert(at, "\xFF");
      const std::string text = prom([&](MetricSink& s) {
        s.begin_family(f.desc());
        s.gauge(Values{invalid}, 1);
        s.end_family();
      });
      std::string expected(length, 'b');
      expected.insert(at, "\xEF\xBF\xBD");
      ASSERT_EQ(text, "# TYPE p gauge\np{v=\"" + expected + "\"} 1\n") << length << " " << at;
    }
  }
}

TEST(PrometheusText, MissingLabelValuesAreWrittenEmptyNotDropped) {
  const TestFamily f{"m", "", "", MetricType::kGauge, {"a", "b"}, {}};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.gauge(Values{"x"}, 1);
    s.end_family();
  });
  EXPECT_EQ(text, "# TYPE m gauge\nm{a=\"x\",b=\"\"} 1\n");
}

TEST(NumberFormat, SampleValues) {
  EXPECT_EQ(gauge_value(kInf), "+Inf");
  EXPECT_EQ(gauge_value(-kInf), "-Inf");
  EXPECT_EQ(gauge_value(kNaN), "NaN");
  EXPECT_EQ(gauge_value(0), "0");
  EXPECT_EQ(gauge_value(-0.0), "0");
  EXPECT_EQ(gauge_value(1), "1");
  EXPECT_EQ(gauge_value(-1), "-1");
  EXPECT_EQ(gauge_value(1e15), "1000000000000000");
  EXPECT_EQ(gauge_value(-1e15), "-1000000000000000");
  EXPECT_EQ(gauge_value(9007199254740992.0), "9007199254740992");  // 2^53
  EXPECT_EQ(gauge_value(1e18), "1000000000000000000");
  EXPECT_EQ(gauge_value(9223372036854774784.0), "9223372036854774784");  // largest < 2^63
  // 2^63: shortest round-trip text, which to_chars writes in full as it is not longer.
  EXPECT_EQ(gauge_value(9223372036854775808.0), "9223372036854775808");
  EXPECT_EQ(gauge_value(1e20), "1e+20");
  EXPECT_EQ(gauge_value(1e300), "1e+300");
  EXPECT_EQ(gauge_value(0.1), "0.1");
  EXPECT_EQ(gauge_value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(gauge_value(1.5e-7), "1.5e-07");
  EXPECT_EQ(gauge_value(123456789.125), "123456789.125");
  EXPECT_EQ(gauge_value(1700000000.5), "1700000000.5");
  EXPECT_EQ(gauge_value(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(gauge_value(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  // Every formatted value parses back to the same double.
  for (const double v : {0.1, 1.0 / 3, 2.5e-9, 6.02214076e23, 1e15 + 0.5, -7.25}) {
    EXPECT_EQ(std::strtod(gauge_value(v).c_str(), nullptr), v) << v;
  }
}

TEST(NumberFormat, CountsAreExactIntegers) {
  const TestFamily f{"h", "", "", MetricType::kHistogram, {}, {}};
  const std::vector<double> bounds{};
  const uint64_t big = std::numeric_limits<uint64_t>::max();
  const std::vector<uint64_t> cumulative{big};
  HistogramPoint p{bounds, cumulative, big, 1e15, 0};
  const std::string text = prom([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.histogram({}, p);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# TYPE h histogram\n"
            "h_bucket{le=\"+Inf\"} 18446744073709551615\n"
            "h_sum 1000000000000000\n"
            "h_count 18446744073709551615\n");
}

TEST(NumberFormat, LeLikeGoClients) {
  // client_golang writes le/quantile with strconv.FormatFloat(v, 'g', -1, 64).
  EXPECT_EQ(le_values(Format::kPrometheusText,
                      {-1,  0,    1e-10,  1e-5, 0.0001,  0.001, 0.005, 0.01,  0.025,
                       0.1, 0.25, 0.5,    0.9,  0.95,    0.99,  0.999, 1,     1.7,
                       2.5, 10,   100000, 1e6,  1234567, 1e10,  1e23,  1.1e23}),
            "-1 0 1e-10 1e-05 0.0001 0.001 0.005 0.01 0.025 0.1 0.25 0.5 0.9 0.95 0.99 0.999 1 "
            "1.7 2.5 10 100000 1e+06 1.234567e+06 1e+10 1e+23 1.1e+23 +Inf");
}

TEST(NumberFormat, LeCanonicalOpenMetrics) {
  // The examples of "Considerations: Canonical Numbers" and the histogram example of the
  // OpenMetrics 1.0 specification.
  EXPECT_EQ(le_values(Format::kOpenMetrics,
                      {-1,   0.0,  1e-10, 1e-9, 1e-5, 0.0001, 0.001,    0.002, 0.01, 0.1,  0.9,
                       0.95, 0.99, 0.999, 1.0,  1.7,  10.0,   100000.0, 1e6,   1e10, 1e23, 1.1e23}),
            "-1.0 0.0 1e-10 1e-09 1e-05 0.0001 0.001 0.002 0.01 0.1 0.9 0.95 0.99 0.999 1.0 1.7 "
            "10.0 100000.0 1e+06 1e+10 1e+23 1.1e+23 +Inf");
}

// ---------------------------------------------------------------------------------------------
// OpenMetrics 1.0.0

TEST(OpenMetrics, CounterWithCreatedAndEof) {
  const TestFamily f{"http_requests",      "Requests served.", "",
                     MetricType::kCounter, {"method"},         {{"service", "api"}}};
  const std::string text = om([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.counter(Values{"GET"}, 1027, 1700000000.5);
    s.counter(Values{"POST"}, 0, 0);  // created unknown: no _created sample
    s.end_family();
  });
  EXPECT_EQ(text,
            "# TYPE http_requests counter\n"
            "# HELP http_requests Requests served.\n"
            "http_requests_total{service=\"api\",method=\"GET\"} 1027\n"
            "http_requests_created{service=\"api\",method=\"GET\"} 1700000000.5\n"
            "http_requests_total{service=\"api\",method=\"POST\"} 0\n"
            "# EOF\n");
}

TEST(OpenMetrics, UnitLine) {
  const TestFamily f{"process_cpu_seconds", "CPU time.", "seconds", MetricType::kCounter, {}, {}};
  const std::string text = om([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.counter({}, 4.20072246e+06, 1605281325);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# TYPE process_cpu_seconds counter\n"
            "# UNIT process_cpu_seconds seconds\n"
            "# HELP process_cpu_seconds CPU time.\n"
            "process_cpu_seconds_total 4200722.46\n"
            "process_cpu_seconds_created 1605281325\n"
            "# EOF\n");
}

TEST(OpenMetrics, Gauge) {
  const TestFamily f{"go_goroutines", "Number of goroutines.", "", MetricType::kGauge, {}, {}};
  EXPECT_EQ(om([&](MetricSink& s) {
              s.begin_family(f.desc());
              s.gauge({}, 69);
              s.end_family();
            }),
            "# TYPE go_goroutines gauge\n"
            "# HELP go_goroutines Number of goroutines.\n"
            "go_goroutines 69\n"
            "# EOF\n");
}

TEST(OpenMetrics, Histogram) {
  const TestFamily f{"request_seconds",      "Request latency.", "seconds",
                     MetricType::kHistogram, {"path"},           {}};
  const std::vector<double> bounds{0.005, 0.5, 1, 10};
  const std::vector<uint64_t> cumulative{1, 2, 3, 3, 4};
  const std::vector<uint64_t> zeros(5, 0);
  HistogramPoint p{bounds, cumulative, 4, 12.5, 1520430000.123};
  HistogramPoint fresh{bounds, zeros, 0, 0, 0};  // created unknown: no _created sample
  const std::string text = om([&](MetricSink& s) {
    s.begin_family(f.desc());
    s.histogram(Values{"/"}, p);
    s.histogram(Values{"/new"}, fresh);
    s.end_family();
  });
  EXPECT_EQ(text,
            "# TYPE request_seconds histogram\n"
            "# UNIT request_seconds seconds\n"
            "# HELP request_seconds Request latency.\n"
            "request_seconds_bucket{path=\"/\",le=\"0.005\"} 1\n"
            "request_seconds_bucket{path=\"/\",le=\"0.5\"} 2\n"
            "request_seconds_bucket{path=\"/\",le=\"1.0\"} 3\n"
            "request_seconds_bucket{path=\"/\",le=\"10.0\"} 3\n"
            "request_seconds_bucket{path=\"/\",le=\"+Inf\"} 4\n"
            "request_seconds_count{path=\"/\"} 4\n"
            "request_seconds_sum{path=\"/\"} 12.5\n"
            "request_seconds_created{path=\"/\"} 1520430000.123\n"
            "request_seconds_bucket{path=\"/new\",le=\"0.005\"} 0\n"
            "request_seconds_bucket{path=\"/new\",le=\"0.5\"} 0\n"
            "request_seconds_bucket{path=\"/new\",le=\"1.0\"} 0\n"
            "request_seconds_bucket{path=\"/new\",le=\"10.0\"} 0\n"
            "request_seconds_bucket{path=\"/new\",le=\"+Inf\"} 0\n"
            "request_seconds_count{path=\"/new\"} 0\n"
            "request_seconds_sum{path=\"/new\"} 0\n"
            "# EOF\n");
}

TEST(OpenMetrics, Summary) {
  const TestFamily f{"rpc_seconds", "RPC latency.", "seconds", MetricType::kSummary, {}, {}};
  const std::vector<std::pair<double, double>> quantiles{{0.5, 0.012}, {0.99, kNaN}, {1, 3}};
  SummaryPoint p{quantiles, 17, 3.5, 1520430000.123};
  EXPECT_EQ(om([&](MetricSink& s) {
              s.begin_family(f.desc());
              s.summary({}, p);
              s.end_family();
            }),
            "# TYPE rpc_seconds summary\n"
            "# UNIT rpc_seconds seconds\n"
            "# HELP rpc_seconds RPC latency.\n"
            "rpc_seconds{quantile=\"0.5\"} 0.012\n"
            "rpc_seconds{quantile=\"0.99\"} NaN\n"
            "rpc_seconds{quantile=\"1.0\"} 3\n"
            "rpc_seconds_count 17\n"
            "rpc_seconds_sum 3.5\n"
            "rpc_seconds_created 1520430000.123\n"
            "# EOF\n");
}

TEST(OpenMetrics, Info) {
  const TestFamily f{"build",           "Build information.", "",
                     MetricType::kInfo, {"version"},          {{"entity", "controller"}}};
  EXPECT_EQ(om([&](MetricSink& s) {
              s.begin_family(f.desc());
              s.info(Values{"8.2.7"});
              s.end_family();
            }),
            "# TYPE build info\n"
            "# HELP build Build information.\n"
            "build_info{entity=\"controller\",version=\"8.2.7\"} 1\n"
            "# EOF\n");
}

TEST(OpenMetrics, EscapingInHelpIncludesQuotes) {
  const TestFamily f{"e", "a \"b\" \\ c\nd", "", MetricType::kGauge, {"v"}, {}};
  EXPECT_EQ(om([&](MetricSink& s) {
              s.begin_family(f.desc());
              s.gauge(Values{"escaping\" example \n "}, 0);
              s.end_family();
            }),
            "# TYPE e gauge\n"
            "# HELP e a \\\"b\\\" \\\\ c\\nd\n"
            "e{v=\"escaping\\\" example \\n \"} 0\n"
            "# EOF\n");
}

TEST(OpenMetrics, EmptyCollectionIsJustEofAndFinishIsIdempotent) {
  std::string out;
  TextSink sink(out, Format::kOpenMetrics);
  sink.finish();
  sink.finish();
  EXPECT_EQ(out, "# EOF\n");
}

TEST(TextSink, AppendsToExistingOutput) {
  std::string out = "existing\n";
  TextSink sink(out, Format::kPrometheusText);
  const TestFamily f{"g", "", "", MetricType::kGauge, {}, {}};
  sink.begin_family(f.desc());
  sink.gauge({}, 1);
  sink.end_family();
  sink.finish();
  EXPECT_EQ(out, "existing\n# TYPE g gauge\ng 1\n");
}

TEST(TextSink, RejectsJsonFormat) {
  std::string out;
  EXPECT_THROW(TextSink(out, Format::kJson), vigil::Error);
}

// ---------------------------------------------------------------------------------------------
// Content types and negotiation

TEST(ContentType, PerFormat) {
  EXPECT_EQ(content_type(Format::kPrometheusText), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(content_type(Format::kOpenMetrics),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(content_type(Format::kJson), "application/json");
}

TEST(NegotiateFormat, Table) {
  struct Case {
    std::string_view accept;
    Format expected;
  };
  const Format kText = Format::kPrometheusText;
  const Format kOM = Format::kOpenMetrics;
  const Format kJson = Format::kJson;
  const Case cases[] = {
      // What Prometheus 2.x sends.
      {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
       "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
       kOM},
      {"application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", kOM},
      // Prometheus with scrape_protocols preferring the text format.
      {"text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5", kText},
      {"application/openmetrics-text", kOM},
      {"APPLICATION/OpenMetrics-Text; Version=1.0.0", kOM},
      {"application/openmetrics-text;q=0.5,text/plain;q=0.5", kOM},  // tie goes to OpenMetrics
      {"application/openmetrics-text;q=0.4,text/plain;q=0.5", kText},
      {"application/openmetrics-text;q=0.5,*/*;q=0.9", kText},
      {"application/openmetrics-text;q=0", kText},
      {"application/openmetrics-text;version=2.0.0", kText},  // a version we do not serve
      {"text/plain;q=0,application/openmetrics-text;q=0.1", kOM},
      // JSON when it is the most preferred.
      {"application/json", kJson},
      {"application/json, text/plain;q=0.9", kJson},
      {"application/json;q=0.9, text/plain", kText},
      {"application/json, */*", kJson},  // equal q: the explicit type beats the wildcard
      {"application/json, text/plain, */*", kJson},  // axios: equal q, listed first
      {"text/plain, application/json", kText},
      {"application/json;q=0.5, application/openmetrics-text;q=0.8", kOM},
      {"application/json, application/openmetrics-text;q=0.8", kJson},
      {"application/json;q=0", kText},
      // Browsers, curl and defaults.
      {"", kText},
      {"*/*", kText},
      {"text/*", kText},
      {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8", kText},
      {"application/*", kText},
      // Quoted parameters containing separators.
      {"application/openmetrics-text;foo=\"a,b;q=0\";q=0.9, text/plain;q=0.5", kOM},
      // Garbage.
      {",,,;;;", kText},
      {"application/openmetrics-text;q=abc", kText},
      {"application/openmetrics-text;q=1.5", kText},
      {"application/openmetrics-text;q=-1", kText},
      {"application/openmetrics-text;q=nan", kText},
      {"application/openmetrics-text;q=", kText},
      {"application/openmetrics-text;=;==", kText},
      {"application/json;q", kText},
      {"/", kText},
      {"application/", kText},
      {"\"unterminated, application/json", kText},
      {std::string_view("application/json\0garbage", 24), kText},
      {"\xff\xfe\x80", kText},
      {"          ", kText},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(negotiate_format(c.accept), c.expected) << "Accept: " << c.accept;
  }
}

TEST(NegotiateFormat, NeverCrashesOnArbitraryBytes) {
  uint32_t state = 12345;
  const char alphabet[] = "a/;,=\"\\ q.01*-\t\xff";
  for (int round = 0; round < 20000; ++round) {
    std::string header;
    const int len = static_cast<int>(state % 40);
    for (int i = 0; i < len; ++i) {
      state = state * 1664525u + 1013904223u;
      header.push_back(alphabet[(state >> 16) % (sizeof alphabet - 1)]);
    }
    state = state * 1664525u + 1013904223u;
    const Format f = negotiate_format(header);
    EXPECT_TRUE(f == Format::kPrometheusText || f == Format::kOpenMetrics || f == Format::kJson);
  }
}

// ---------------------------------------------------------------------------------------------
// promtool

// Families of every type, with escaping, UTF-8 and special values; `quote_in_help` is off for
// the OpenMetrics run because promtool 2.x parses its input as text 0.0.4, whose HELP grammar
// has no \" escape.
std::string sample_exposition(Format format, bool include_info, bool quote_in_help) {
  const TestFamily counter{"app_requests",       "Requests handled.", "",
                           MetricType::kCounter, {"method", "path"},  {{"service", "api"}}};
  const TestFamily gauge{"app_temperature_celsius",
                         quote_in_help ? "Temperature \"now\", in \\ celsius.\nSecond line."
                                       : "Temperature now, in \\ celsius.\nSecond line.",
                         "celsius",
                         MetricType::kGauge,
                         {"room"},
                         {}};
  const TestFamily histogram{"app_request_duration_seconds", "Request latency.", "seconds",
                             MetricType::kHistogram,         {"code"},           {}};
  const TestFamily summary{
      "app_rpc_duration_seconds", "RPC latency.", "seconds", MetricType::kSummary, {}, {}};
  const TestFamily info{"app_build", "Build information.", "", MetricType::kInfo, {"version"}, {}};
  const std::vector<double> bounds{0.005, 0.01, 0.1, 1, 10, 1e6};
  const std::vector<uint64_t> cumulative{1, 2, 3, 4, 5, 6, 7};
  const std::vector<std::pair<double, double>> quantiles{{0.5, 0.25}, {0.9, kNaN}, {0.99, 1e15}};
  return render(format, [&](MetricSink& s) {
    s.begin_family(counter.desc());
    s.counter(Values{"GET", "/a\"b\\c\nd"}, 1027, 1700000000.25);
    s.counter(Values{"POST", "/h\xC3\xA9llo/\xE6\x97\xA5\xE6\x9C\xAC"}, 1e15, 1700000000);
    s.end_family();
    s.begin_family(gauge.desc());
    s.gauge(Values{"kitchen"}, 21.5);
    s.gauge(Values{"hot"}, kInf);
    s.gauge(Values{"cold"}, -kInf);
    s.gauge(Values{"broken"}, kNaN);
    s.end_family();
    s.begin_family(histogram.desc());
    s.histogram(Values{"200"}, HistogramPoint{bounds, cumulative, 7, 1e6 + 12.5, 1700000000});
    s.end_family();
    s.begin_family(summary.desc());
    s.summary({}, SummaryPoint{quantiles, 3, 0.75, 1700000000});
    s.end_family();
    if (include_info) {
      s.begin_family(info.desc());
      s.info(Values{"1.2.3"});
      s.end_family();
    }
  });
}

struct ToolResult {
  int exit_code = -1;
  std::string stderr_text;
};

std::string promtool_path() {
  for (const char* p : {"/usr/bin/promtool", "/usr/local/bin/promtool"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

ToolResult promtool_check(const std::string& tool, const std::string& text, const char* tag) {
  const std::filesystem::path dir = ::testing::TempDir();
  const std::filesystem::path in = dir / (std::string("vigil_promtool_") + tag + ".txt");
  const std::filesystem::path err = dir / (std::string("vigil_promtool_") + tag + ".err");
  {
    std::ofstream f(in, std::ios::binary);
    f << text;
  }
  const std::string command =
      tool + " check metrics < '" + in.string() + "' > /dev/null 2> '" + err.string() + "'";
  const int status = std::system(command.c_str());
  ToolResult result;
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  std::ifstream e(err, std::ios::binary);
  result.stderr_text.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  std::filesystem::remove(in);
  std::filesystem::remove(err);
  return result;
}

TEST(Promtool, PrometheusTextPassesWithoutErrorsOrLintProblems) {
  const std::string tool = promtool_path();
  if (tool.empty()) GTEST_SKIP() << "promtool not installed";
  const std::string text = sample_exposition(Format::kPrometheusText, true, true);
  const ToolResult r = promtool_check(tool, text, "prom");
  // promtool exits 1 on a parse error and 3 on lint problems; the text must have neither.
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text << "\n" << text;
  EXPECT_EQ(r.stderr_text, "") << text;
}

TEST(Promtool, OpenMetricsParses) {
  const std::string tool = promtool_path();
  if (tool.empty()) GTEST_SKIP() << "promtool not installed";
  // promtool check metrics (2.x) reads its input with the 0.0.4 text parser, which accepts
  // OpenMetrics except the `info` type and \" in HELP. It reads `x_total` and `x_created` under
  // `# TYPE x counter` as separate untyped metrics, so it lints them for missing help text:
  // those are the only problems allowed here.
  const std::string text = sample_exposition(Format::kOpenMetrics, false, false);
  ASSERT_NE(text.find("# EOF\n"), std::string::npos);
  const ToolResult r = promtool_check(tool, text, "om");
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.exit_code << " " << r.stderr_text;
  std::istringstream lines(r.stderr_text);
  std::string line;
  while (std::getline(lines, line)) {
    const bool expected_lint =
        line.ends_with(" no help text") &&
        (line.find("_total ") != std::string::npos || line.find("_created ") != std::string::npos);
    EXPECT_TRUE(expected_lint) << line << "\n" << text;
  }
}

// ---------------------------------------------------------------------------------------------
// serialize(Registry)

// A registry with one family of each type.
void fill_registry(Registry& r) {
  r.counter("jobs_total", "Jobs done.", {"queue"}).labels({"fast"}).inc(3);
  MetricOptions celsius;
  celsius.unit = "celsius";
  r.gauge("room_temperature_celsius", "Temperature \"now\".", {"room"}, celsius)
      .labels({"a\"b\\c\nd"})
      .set(21.5);
  HistogramOptions buckets;
  buckets.buckets = {0.1, 1, 10};
  MetricOptions seconds;
  seconds.unit = "seconds";
  auto latency = r.histogram("job_duration_seconds", "Job latency.", {}, buckets, seconds).get();
  latency.observe(0.05);
  latency.observe(5);
  auto rpc = r.summary("rpc_duration_seconds", "RPC latency.", {}, {}, seconds).get();
  rpc.observe(0.25);
  r.info("app_build", "Build information.", {"version"}).labels({"1.2.3"});
}

TEST(Serialize, PrometheusTextOfARegistry) {
  Registry r;
  fill_registry(r);
  std::string out = "previous\n";
  serialize(r, Format::kPrometheusText, out);
  EXPECT_EQ(out.rfind("previous\n", 0), 0u);  // appends
  const std::string text = serialize(r, Format::kPrometheusText);
  for (const char* expected :
       {"# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total{queue=\"fast\"} 3\n",
        "# TYPE room_temperature_celsius gauge\n"
        "room_temperature_celsius{room=\"a\\\"b\\\\c\\nd\"} 21.5\n",
        "job_duration_seconds_bucket{le=\"0.1\"} 1\n",
        "job_duration_seconds_bucket{le=\"+Inf\"} 2\n",
        "job_duration_seconds_sum 5.05\njob_duration_seconds_count 2\n",
        "rpc_duration_seconds{quantile=\"0.5\"} ",  // the value is the summary's estimate
        "rpc_duration_seconds_sum 0.25\nrpc_duration_seconds_count 1\n",
        "# TYPE app_build_info gauge\napp_build_info{version=\"1.2.3\"} 1\n"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
  }
  EXPECT_EQ(text.find("# EOF"), std::string::npos);
  EXPECT_EQ(text.find("_created"), std::string::npos);
}

TEST(Serialize, OpenMetricsOfARegistry) {
  Registry r;
  fill_registry(r);
  const std::string text = serialize(r, Format::kOpenMetrics);
  for (const char* expected :
       {"# TYPE jobs counter\n# HELP jobs Jobs done.\njobs_total{queue=\"fast\"} 3\n"
        "jobs_created{queue=\"fast\"} ",
        "# TYPE room_temperature_celsius gauge\n# UNIT room_temperature_celsius celsius\n"
        "# HELP room_temperature_celsius Temperature \\\"now\\\".\n",
        "job_duration_seconds_bucket{le=\"1.0\"} 1\n",
        "job_duration_seconds_count 2\njob_duration_seconds_sum 5.05\n"
        "job_duration_seconds_created ",
        "# TYPE app_build info\n", "app_build_info{version=\"1.2.3\"} 1\n"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
  }
  ASSERT_GE(text.size(), 6u);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  EXPECT_EQ(text.find("# EOF"), text.size() - 6);  // exactly once, at the end
}

TEST(Serialize, RegistryOutputPassesPromtool) {
  const std::string tool = promtool_path();
  if (tool.empty()) GTEST_SKIP() << "promtool not installed";
  Registry r;
  fill_registry(r);
  const std::string text = serialize(r, Format::kPrometheusText);
  const ToolResult result = promtool_check(tool, text, "registry");
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text << "\n" << text;
  EXPECT_EQ(result.stderr_text, "") << text;
}

}  // namespace
}  // namespace vigil::metrics
