// OtlpTraceExporterOptions: OTEL_EXPORTER_OTLP_* variables, header lists, validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "vigil/core/error.h"
#include "vigil/exporters/otlp_trace_exporter.h"

namespace vigil::exporters {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

struct EnvResult {
  OtlpTraceExporterOptions options;
  std::vector<std::string> warnings;
};

EnvResult from(std::map<std::string, std::string, std::less<>> vars) {
  EnvResult r;
  trace::Environment env(std::move(vars), [&r](std::string_view w) { r.warnings.emplace_back(w); });
  r.options = OtlpTraceExporterOptions::from_environment(env);
  return r;
}

TEST(OtlpOptions, Defaults) {
  const auto r = from({});
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_EQ(r.options.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(r.options.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(r.options.compression, OtlpCompression::kNone);
  EXPECT_EQ(r.options.timeout, std::chrono::milliseconds(10000));
  EXPECT_THAT(r.options.headers, IsEmpty());
  EXPECT_NO_THROW(r.options.validate());
}

TEST(OtlpOptions, GenericEndpointGetsTheSignalPath) {
  EXPECT_EQ(from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}}).options.endpoint,
            "http://collector:4318/v1/traces");
  EXPECT_EQ(from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c.example/otlp/"}}).options.endpoint,
            "https://c.example/otlp/v1/traces");
}

TEST(OtlpOptions, SignalEndpointIsUsedAsIsAndWins) {
  const auto r = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"},
                       {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom"}});
  EXPECT_EQ(r.options.endpoint, "http://traces:9999/custom");
  EXPECT_EQ(from({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1"}}).options.endpoint,
            "http://t:1");
}

TEST(OtlpOptions, BadEndpointWarnsAndFallsBack) {
  auto r = from({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318"},
                 {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"}});
  EXPECT_EQ(r.options.endpoint, "http://generic:4318/v1/traces");
  ASSERT_THAT(r.warnings, SizeIs(1));
  EXPECT_THAT(r.warnings[0], HasSubstr("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT='collector:4318'"));
  EXPECT_THAT(r.warnings[0], HasSubstr("http://"));
  r = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x"}});
  EXPECT_EQ(r.options.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_THAT(r.warnings, SizeIs(1));
  r = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://"}});
  EXPECT_EQ(r.options.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_THAT(r.warnings, SizeIs(1));
}

TEST(OtlpOptions, HeadersAreMergedAndDecoded) {
  const auto r = from({{"OTEL_EXPORTER_OTLP_HEADERS", "api-key=generic, X-Team = core "},
                       {"OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                        "API-KEY=tr%20aces%3D1,authorization=Basic%20dXNlcjpwdw%3D%3D"}});
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_THAT(r.options.headers, ElementsAre(Pair("api-key", "tr aces=1"), Pair("X-Team", "core"),
                                             Pair("authorization", "Basic dXNlcjpwdw==")));
}

TEST(OtlpOptions, BadHeaderEntriesAreSkipped) {
  const auto r = from(
      {{"OTEL_EXPORTER_OTLP_HEADERS", "good=1,novalue,bad key=2,=3,esc=%zz,crlf=a%0d%0ab,,ok=2"}});
  EXPECT_THAT(r.options.headers, ElementsAre(Pair("good", "1"), Pair("ok", "2")));
  EXPECT_THAT(r.warnings, SizeIs(5));
  for (const auto& w : r.warnings) EXPECT_THAT(w, HasSubstr("OTEL_EXPORTER_OTLP_HEADERS"));
}

TEST(OtlpOptions, ParseHeadersDirectly) {
  std::vector<std::string> errors;
  EXPECT_THAT(parse_otlp_headers("a=b=c,a b=1", &errors), ElementsAre(Pair("a", "b=c")));
  EXPECT_THAT(errors, SizeIs(1));
  EXPECT_THAT(parse_otlp_headers(""), IsEmpty());
  EXPECT_THAT(parse_otlp_headers("k=%"), IsEmpty());
  EXPECT_THAT(parse_otlp_headers("k=%4"), IsEmpty());
  EXPECT_THAT(parse_otlp_headers("k="), ElementsAre(Pair("k", "")));
}

TEST(OtlpOptions, ProtocolCompressionTimeout) {
  auto r = from({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                 {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                 {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"}});
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_EQ(r.options.protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(r.options.compression, OtlpCompression::kGzip);
  EXPECT_EQ(r.options.timeout, std::chrono::milliseconds(2500));

  // The traces variables win.
  r = from({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
            {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"},
            {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
            {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"},
            {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
            {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"}});
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_EQ(r.options.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(r.options.compression, OtlpCompression::kNone);
  EXPECT_EQ(r.options.timeout, std::chrono::milliseconds(700));
}

TEST(OtlpOptions, BadValuesWarnAndUseTheDefault) {
  const auto r = from({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                       {"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"},
                       {"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"}});
  EXPECT_EQ(r.options.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(r.options.compression, OtlpCompression::kNone);
  EXPECT_EQ(r.options.timeout, std::chrono::milliseconds(10000));
  ASSERT_THAT(r.warnings, SizeIs(3));
  EXPECT_THAT(r.warnings[0], HasSubstr("OTEL_EXPORTER_OTLP_PROTOCOL='grpc'"));
  EXPECT_THAT(r.warnings[1], HasSubstr("OTEL_EXPORTER_OTLP_COMPRESSION='zstd'"));
  EXPECT_THAT(r.warnings[2], HasSubstr("OTEL_EXPORTER_OTLP_TIMEOUT='10s'"));
  EXPECT_THAT(r.warnings[2], HasSubstr("using 10000"));
  EXPECT_THAT(from({{"OTEL_EXPORTER_OTLP_TIMEOUT", "0"}}).warnings, SizeIs(1));
  EXPECT_THAT(from({{"OTEL_EXPORTER_OTLP_TIMEOUT", "-5"}}).warnings, SizeIs(1));
}

TEST(OtlpOptions, TlsFiles) {
  const auto r = from({{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"},
                       {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/k.pem"},
                       {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/c.pem"}});
  EXPECT_EQ(r.options.certificate_file, "/etc/ca.pem");
  EXPECT_EQ(r.options.client_key_file, "/k.pem");
  EXPECT_EQ(r.options.client_certificate_file, "/c.pem");
}

TEST(OtlpOptions, ValidateThrowsOnMistakes) {
  const auto throws_with = [](OtlpTraceExporterOptions o, const std::string& text) {
    try {
      o.validate();
      ADD_FAILURE() << "no exception for " << text;
    } catch (const vigil::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(text));
    }
  };
  OtlpTraceExporterOptions o;
  o.endpoint = "localhost:4318";
  throws_with(o, "endpoint 'localhost:4318'");
  o = {};
  o.headers = {{"bad name", "v"}};
  throws_with(o, "header name 'bad name'");
  o = {};
  o.headers = {{"x", "a\r\nInjected: 1"}};
  throws_with(o, "header 'x'");
  o = {};
  o.timeout = std::chrono::milliseconds(0);
  throws_with(o, "timeout");
  o = {};
  o.retry.max_attempts = 0;
  throws_with(o, "max_attempts");
  o = {};
  o.retry.multiplier = 0.5;
  throws_with(o, "multiplier");
  o = {};
  o.retry.jitter = 2;
  throws_with(o, "jitter");
  o = {};
  o.retry.max_backoff = std::chrono::milliseconds(1);
  throws_with(o, "backoff");
  EXPECT_THROW(OtlpTraceExporter{o}, vigil::Error);
}

TEST(OtlpOptions, EnumNames) {
  EXPECT_EQ(to_string(OtlpProtocol::kHttpJson), "http/json");
  EXPECT_EQ(to_string(OtlpProtocol::kHttpProtobuf), "http/protobuf");
  EXPECT_EQ(to_string(OtlpCompression::kGzip), "gzip");
  EXPECT_EQ(to_string(OtlpCompression::kNone), "none");
}

}  // namespace
}  // namespace vigil::exporters
