// examples/w3c_test_service.cc: the W3C Trace Context test-service protocol, on vigil's admin
// server, vigil's W3C propagator and libcurl. The W3C test harness (w3c/trace-context, test/)
// drives a service like this one to check a tracer's propagation rules.
//
//   w3c_test_service [--listen 127.0.0.1:7777] [--port-file PATH]
//
// POST /test with a JSON array of {"url": ..., "arguments": [...]}: the service continues the
// trace of the request's traceparent/tracestate (an invalid traceparent starts a new trace and
// drops tracestate) in a server span, then for each element POSTs `arguments` as JSON to `url`
// from a client span, with that span's traceparent and the propagated tracestate, and answers
// 200 once every call is done (400 for a body that is not such an array). Outgoing calls go to
// the URLs the harness names; each has a 5 s timeout.
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/trace/propagation.h"
#include "vigil/trace/sampler.h"
#include "vigil/trace/tracer.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

// Reads a request's headers for the propagator.
class RequestCarrier : public vigil::trace::CarrierReader {
 public:
  explicit RequestCarrier(const vigil::admin::Request& req) : req_(req) {}
  void get_all(std::string_view name,
               const std::function<void(std::string_view)>& fn) const override {
    for (const vigil::admin::Header& h : req_.headers) {
      if (h.name.size() == name.size() &&
          strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
        fn(h.value);
      }
    }
  }

 private:
  const vigil::admin::Request& req_;
};

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

// POSTs `body` to `url` with the propagation headers. Returns the HTTP status (0 on failure).
long post_json(const std::string& url, const std::string& body,
               const vigil::trace::HeaderMapCarrier& propagation) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return 0;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const auto& [name, value] : propagation.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

vigil::admin::Response handle_test(vigil::trace::Tracer& tracer,
                                   const vigil::trace::Propagator& propagator,
                                   const vigil::admin::Request& req) {
  const nlohmann::json cases = nlohmann::json::parse(req.body, nullptr, false);
  if (cases.is_discarded() || !cases.is_array()) {
    return {.status = 400, .body = "expected a JSON array of {\"url\", \"arguments\"}\n"};
  }
  const vigil::trace::Context incoming = propagator.extract(RequestCarrier(req));
  vigil::trace::Span server = tracer.start_span(
      "POST /test", {.kind = vigil::trace::SpanKind::kServer, .parent = &incoming.span});
  for (const nlohmann::json& c : cases) {
    if (!c.is_object() || !c.contains("url") || !c["url"].is_string()) continue;
    const std::string url = c["url"].get<std::string>();
    const nlohmann::json arguments = c.value("arguments", nlohmann::json::array());
    vigil::trace::Span client =
        tracer.start_span("POST " + url, {.kind = vigil::trace::SpanKind::kClient});
    vigil::trace::Context outgoing = vigil::trace::Context::current();
    outgoing.baggage = incoming.baggage;
    vigil::trace::HeaderMapCarrier carrier;
    propagator.inject(outgoing, carrier);
    const long status = post_json(url, arguments.dump(), carrier);
    client.set_attribute("http.response.status_code", static_cast<int64_t>(status));
  }
  return {.status = 200, .body = "ok\n"};
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:7777";
  std::string port_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--listen") == 0) {
      listen = argv[i + 1];
    } else if (std::strcmp(argv[i], "--port-file") == 0) {
      port_file = argv[i + 1];
    } else {
      std::cerr << "usage: w3c_test_service [--listen HOST:PORT] [--port-file PATH]\n";
      return 2;
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);

  // No exporter: the point is propagation. Parent-based always-on, so an unsampled caller's
  // flag is kept.
  vigil::trace::TracerProviderOptions options;
  options.resource = vigil::trace::Resource({{"service.name", std::string("w3c-test-service")}});
  vigil::trace::TracerProvider provider(std::move(options));
  vigil::trace::Tracer& tracer = provider.tracer("vigil.examples.w3c_test_service");
  const std::unique_ptr<vigil::trace::Propagator> propagator =
      vigil::trace::trace_context_propagator();

  try {
    vigil::admin::Server server({.listen = listen, .threads = 8});
    server.handle(
        "/test",
        [&](const vigil::admin::Request& req) { return handle_test(tracer, *propagator, req); },
        {.methods = {"POST"},
         .description = "W3C trace-context test-service protocol",
         // The test harness posts without credentials; the service only calls the URLs it
         // is given, on the loopback address it listens on.
         .access = vigil::admin::Access::kPublic});
    server.start();
    std::cout << "w3c_test_service: listening on " << server.url() << std::endl;
    if (!port_file.empty()) {
      std::ofstream(port_file + ".tmp") << server.port() << '\n';
      std::rename((port_file + ".tmp").c_str(), port_file.c_str());
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.stop();
  } catch (const vigil::Error& e) {
    std::cerr << "w3c_test_service: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
