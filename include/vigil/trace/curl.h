// vigil/trace/curl.h: tracing and metrics for your own libcurl requests (guide 002's
// RequestsInstrumentor): a CLIENT span per request, the trace context (traceparent, tracestate,
// baggage) injected into the request headers, client metrics, transport errors recorded.
// It instruments a CURL* easy handle you configured; it is not an HTTP client of its own.
//
//   vigil::trace::CurlInstrumentation http({.registry = &vigil::metrics::Registry::global()});
//
//   CURL* easy = curl_easy_init();
//   curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
//   curl_easy_setopt(easy, CURLOPT_URL, "https://api.example.com/v1/items");
//   curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ...);
//   CURLcode rc = http.perform(easy, {.method = "GET", .url = "https://api.example.com/v1/items",
//                                     .headers = headers});   // instead of curl_easy_perform
//   curl_slist_free_all(headers);                              // still yours
//
//   // Driving the transfer yourself (curl_multi_*): a Call around it.
//   vigil::trace::CurlInstrumentation::Call call(http, easy, {.method = "POST", .url = u});
//   ... curl_multi_add_handle / perform / info_read ...
//   call.finish(result_code);
//
// What one request records:
//   span     "METHOD" (semantic conventions; "HTTP" for other methods), kind CLIENT, child of the
//            current span; attributes http.request.method, url.full (user name and password
//            removed), server.address, server.port, http.response.status_code; status error for
//            4xx, 5xx (error.type = the code) and transport errors (error.type = the curl error
//            name, e.g. "CURLE_COULDNT_CONNECT", status message curl's text for it).
//   headers  the propagator's fields (default traceparent, tracestate, baggage) of the client
//            span, or of the current context when tracing is off, added to a copy of your
//            header list (a header of yours with the same name is replaced in the copy). Your
//            curl_slist is never changed or freed; the copy is set as CURLOPT_HTTPHEADER for the
//            transfer and your list is set back, and the copy freed, when the call finishes.
//   metrics  (with a registry) <prefix>_requests_total{method,code,server} and
//            <prefix>_request_duration_seconds{method,server} (histogram, with a trace_id
//            exemplar (trace_id, span_id) when the span is sampled); prefix "http_client". Bounded
//            labels: method normalized ("_OTHER"), code the status or "error" (no response), server
//            "host:port" (each family's cardinality limit still applies; server_label = false
//            records "" for callers of many hosts).
// Method and URL you leave empty are read from the handle after the transfer
// (CURLINFO_EFFECTIVE_METHOD, CURLINFO_EFFECTIVE_URL, i.e. after redirects).
//
// Cost: a few microseconds per request (URL parsing, the header list copy, the span), small
// beside any network request. Thread-safety: CurlInstrumentation is thread-safe; a Call belongs
// to one request and one thread at a time, like its CURL handle. Nothing here throws, except
// the constructor (vigil::Error on a metric clash). libcurl is a public dependency of
// vigil::trace_curl (and of this header) only.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/registry.h"
#include "vigil/trace/propagation.h"
#include "vigil/trace/span.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {

struct CurlInstrumentationOptions {
  Tracer* tracer = nullptr;                // null: instrumentation_tracer() (the global provider's)
  const Propagator* propagator = nullptr;  // null: default_propagator()
  metrics::Registry* registry = nullptr;   // null: no metrics. Must outlive this object.
  std::string prefix = "http_client";
  std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  bool server_label = true;  // false: the server label is "" (callers of unbounded hosts)
  bool exemplars = true;     // trace_id exemplars on the duration histogram
};

// What the instrumentation cannot read from a CURL handle before its transfer.
struct CurlRequest {
  std::string_view method;  // "GET", ...; empty: CURLINFO_EFFECTIVE_METHOD after the transfer
  std::string_view url;     // empty: CURLINFO_EFFECTIVE_URL after the transfer
  // Your header list (what you would set with CURLOPT_HTTPHEADER); may be null. Not changed,
  // not freed, must stay valid until the call finishes.
  const curl_slist* headers = nullptr;
};

class CurlInstrumentation {
 public:
  // Registers the metric families when a registry is given. Throws vigil::Error when they clash
  // with other metrics of the registry.
  explicit CurlInstrumentation(CurlInstrumentationOptions options = {});
  CurlInstrumentation(const CurlInstrumentation&) = delete;
  CurlInstrumentation& operator=(const CurlInstrumentation&) = delete;

  // One request on `easy` (see the file comment). Not movable.
  class Call {
   public:
    // Starts the span and sets CURLOPT_HTTPHEADER on `easy` to your headers plus the context's.
    Call(CurlInstrumentation& owner, CURL* easy, const CurlRequest& request) noexcept;
    // A call never finished records a transport error "abandoned" (no response).
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    Span& span() noexcept { return span_; }
    // Records the outcome of the transfer: the response code (CURLINFO_RESPONSE_CODE) when
    // `code` is CURLE_OK, the transport error otherwise; restores your CURLOPT_HTTPHEADER.
    // Later calls do nothing.
    void finish(CURLcode code) noexcept;

   private:
    void record(CURLcode code, bool abandoned) noexcept;

    CurlInstrumentation& owner_;
    CURL* easy_;
    const curl_slist* user_headers_;
    curl_slist* merged_ = nullptr;  // ours: freed when the call finishes
    Span span_;
    std::string method_;
    std::string url_;  // url.full, credentials removed ("" until known)
    std::string server_;
    std::chrono::steady_clock::time_point start_;
    bool method_set_ = false;  // the method was known when the call started
    bool finished_ = false;
  };

  // curl_easy_perform(easy) as one instrumented request; returns its result.
  CURLcode perform(CURL* easy, const CurlRequest& request = {}) noexcept;

 private:
  Tracer* tracer_;
  const Propagator* propagator_;
  metrics::Family<metrics::Counter>* requests_ = nullptr;
  metrics::Family<metrics::Histogram>* duration_ = nullptr;
  bool server_label_;
  bool exemplars_;
};

// CurlInstrumentation::perform() of one process-wide instrumentation with default options on
// vigil::metrics::Registry::global() (http_client_* families), created on first use.
CURLcode traced_perform(CURL* easy, const CurlRequest& request = {}) noexcept;

// The name of a libcurl result code ("CURLE_COULDNT_CONNECT"); "CURLE_<number>" for codes this
// vigil does not know. Never throws.
std::string curl_error_name(CURLcode code);

// A request URL as the span records it. Never throws except std::bad_alloc.
struct ClientUrl {
  std::string full;  // url.full: user name and password replaced by "REDACTED"; "" when
                     // libcurl cannot parse the URL
  std::string host;  // server.address
  int port = 0;      // server.port (the scheme's default when the URL has none)
};
ClientUrl parse_client_url(std::string_view url);

}  // namespace vigil::trace
