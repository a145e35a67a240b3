#include "vigil/admin/metrics_endpoint.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::admin {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

struct HttpResponse {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    const std::size_t b = value.find_first_not_of(" \t");
    const std::size_t e = value.find_last_not_of(" \t\r\n");
    value = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
    static_cast<HttpResponse*>(user)->headers[name] = value;
  }
  return size * n;
}

HttpResponse get(const std::string& url, const std::vector<std::string>& headers = {},
                 bool decode_gzip = false) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse res;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res);
  if (decode_gzip) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  res.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return res;
}

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.counter("requests_total", "Requests", {"code"}).labels("200").inc();
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    server_ = std::make_unique<Server>(o);
  }
  std::string url(const std::string& path) const { return server_->url() + path; }

  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
};

TEST_F(MetricsEndpointTest, PrometheusTextByDefault) {
  add_metrics_endpoint(*server_, registry_);
  server_->start();
  HttpResponse r = get(url("/metrics"));
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"],
            std::string(metrics::content_type(metrics::Format::kPrometheusText)));
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_THAT(r.body, HasSubstr("# TYPE requests_total counter"));
  EXPECT_THAT(r.body, HasSubstr("requests_total{code=\"200\"} 1"));
}

TEST_F(MetricsEndpointTest, AcceptHeaderChoosesOpenMetricsAndJson) {
  add_metrics_endpoint(*server_, registry_);
  server_->start();
  HttpResponse om =
      get(url("/metrics"), {"Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5"});
  EXPECT_EQ(om.status, 200);
  EXPECT_EQ(om.headers["content-type"],
            std::string(metrics::content_type(metrics::Format::kOpenMetrics)));
  EXPECT_THAT(om.body, HasSubstr("requests_total{code=\"200\"} 1"));
  EXPECT_THAT(om.body, EndsWith("# EOF\n"));

  HttpResponse json = get(url("/metrics"), {"Accept: application/json"});
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.headers["content-type"],
            std::string(metrics::content_type(metrics::Format::kJson)));
  EXPECT_THAT(json.body, HasSubstr("requests"));
}

TEST_F(MetricsEndpointTest, FormatQueryOverridesAccept) {
  add_metrics_endpoint(*server_, registry_, "/custom/metrics");
  server_->start();
  HttpResponse om = get(url("/custom/metrics?format=openmetrics"), {"Accept: application/json"});
  EXPECT_EQ(om.headers["content-type"],
            std::string(metrics::content_type(metrics::Format::kOpenMetrics)));
  EXPECT_THAT(om.body, EndsWith("# EOF\n"));

  HttpResponse text =
      get(url("/custom/metrics?format=prometheus"), {"Accept: application/openmetrics-text"});
  EXPECT_EQ(text.headers["content-type"],
            std::string(metrics::content_type(metrics::Format::kPrometheusText)));
  EXPECT_THAT(text.body, Not(HasSubstr("# EOF")));

  HttpResponse json = get(url("/custom/metrics?format=json"));
  EXPECT_EQ(json.headers["content-type"],
            std::string(metrics::content_type(metrics::Format::kJson)));

  HttpResponse bad = get(url("/custom/metrics?format=xml"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("prometheus, openmetrics or json"));

  EXPECT_EQ(get(url("/metrics")).status, 404);
}

TEST_F(MetricsEndpointTest, LargeScrapesAreGzipped) {
  auto& family = registry_.counter("items_total", "Items", {"id"});
  for (int i = 0; i < 300; ++i) family.labels(std::to_string(i)).inc(i);
  add_metrics_endpoint(*server_, registry_);
  server_->start();
  HttpResponse raw = get(url("/metrics"), {"Accept-Encoding: gzip"});
  EXPECT_EQ(raw.headers["content-encoding"], "gzip");
  HttpResponse decoded = get(url("/metrics"), {}, /*decode_gzip=*/true);
  EXPECT_EQ(decoded.headers["content-encoding"], "gzip");
  EXPECT_THAT(decoded.body, HasSubstr("items_total{id=\"299\"} 299"));
  EXPECT_LT(raw.body.size(), decoded.body.size());
}

TEST_F(MetricsEndpointTest, DuplicatePathThrowsAndFirstRegistrationStays) {
  add_metrics_endpoint(*server_, registry_);
  EXPECT_THROW(add_metrics_endpoint(*server_, registry_), vigil::Error);
  server_->start();
  EXPECT_EQ(get(url("/metrics")).status, 200);
}

TEST(AdminSelfMetrics, TheServerCountsItsOwnRequests) {
  metrics::Registry registry;
  Server server({.listen = "127.0.0.1:0", .self_metrics = &registry});
  add_metrics_endpoint(server, registry);
  server.start();
  const std::string base = server.url();
  EXPECT_EQ(get(base + "/metrics").status, 200);
  EXPECT_EQ(get(base + "/metrics").status, 200);
  EXPECT_EQ(get(base + "/nowhere").status, 404);
  HttpResponse r = get(base + "/metrics?format=prometheus");
  EXPECT_THAT(
      r.body,
      HasSubstr(
          "vigil_admin_http_requests_total{method=\"GET\",route=\"/metrics\",code=\"200\"} 2"));
  EXPECT_THAT(
      r.body,
      HasSubstr(
          "vigil_admin_http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1"));
  EXPECT_THAT(r.body, HasSubstr("vigil_admin_http_request_duration_seconds_bucket{"));
  // The scrape being answered is the one request in flight.
  EXPECT_THAT(r.body, HasSubstr("vigil_admin_http_active_requests 1"));
  server.stop();
}

}  // namespace
}  // namespace vigil::admin
