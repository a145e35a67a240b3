#include "vigil/trace/curl.h"

#include <cctype>
#include <charconv>
#include <memory>
#include <utility>

#include "vigil/trace/context.h"
#include "vigil/trace/exemplar.h"
#include "vigil/trace/http_server.h"  // normalize_http_method
#include "vigil/trace/instrument.h"

namespace vigil::trace {
namespace {

// Whether the curl_slist entry `entry` ("Name: value", "Name;" or "Name:") sets header `name`.
bool sets_header(std::string_view entry, std::string_view name) noexcept {
  if (entry.size() <= name.size()) return false;
  const char after = entry[name.size()];
  if (after != ':' && after != ';') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(entry[i])) !=
        std::tolower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  return true;
}

struct UrlDeleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

// A string libcurl allocated, as a std::string ("" for null).
std::string take(char* s) {
  std::unique_ptr<char, void (*)(void*)> owned(s, curl_free);
  return s != nullptr ? std::string(s) : std::string();
}

}  // namespace

ClientUrl parse_client_url(std::string_view url) {
  ClientUrl out;
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return out;
  const std::string text(url);
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return out;
  }
  char* part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_USER, &part, 0) == CURLUE_OK) {
    curl_free(part);
    curl_url_set(u.get(), CURLUPART_USER, "REDACTED", 0);
  }
  part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
    curl_free(part);
    curl_url_set(u.get(), CURLUPART_PASSWORD, "REDACTED", 0);
  }
  part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &part, 0) == CURLUE_OK) out.full = take(part);
  part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &part, 0) == CURLUE_OK) out.host = take(part);
  part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    const std::string port = take(part);
    std::from_chars(port.data(), port.data() + port.size(), out.port);
  }
  return out;
}

std::string curl_error_name(CURLcode code) {
  switch (code) {
#define VIGIL_CURLE(name) \
  case CURLE_##name:      \
    return "CURLE_" #name;
    VIGIL_CURLE(OK)
    VIGIL_CURLE(UNSUPPORTED_PROTOCOL)
    VIGIL_CURLE(FAILED_INIT)
    VIGIL_CURLE(URL_MALFORMAT)
    VIGIL_CURLE(NOT_BUILT_IN)
    VIGIL_CURLE(COULDNT_RESOLVE_PROXY)
    VIGIL_CURLE(COULDNT_RESOLVE_HOST)
    VIGIL_CURLE(COULDNT_CONNECT)
    VIGIL_CURLE(WEIRD_SERVER_REPLY)
    VIGIL_CURLE(REMOTE_ACCESS_DENIED)
    VIGIL_CURLE(HTTP2)
    VIGIL_CURLE(PARTIAL_FILE)
    VIGIL_CURLE(QUOTE_ERROR)
    VIGIL_CURLE(HTTP_RETURNED_ERROR)
    VIGIL_CURLE(WRITE_ERROR)
    VIGIL_CURLE(UPLOAD_FAILED)
    VIGIL_CURLE(READ_ERROR)
    VIGIL_CURLE(OUT_OF_MEMORY)
    VIGIL_CURLE(OPERATION_TIMEDOUT)
    VIGIL_CURLE(RANGE_ERROR)
    VIGIL_CURLE(HTTP_POST_ERROR)
    VIGIL_CURLE(SSL_CONNECT_ERROR)
    VIGIL_CURLE(BAD_DOWNLOAD_RESUME)
    VIGIL_CURLE(FILE_COULDNT_READ_FILE)
    VIGIL_CURLE(FUNCTION_NOT_FOUND)
    VIGIL_CURLE(ABORTED_BY_CALLBACK)
    VIGIL_CURLE(BAD_FUNCTION_ARGUMENT)
    VIGIL_CURLE(INTERFACE_FAILED)
    VIGIL_CURLE(TOO_MANY_REDIRECTS)
    VIGIL_CURLE(UNKNOWN_OPTION)
    VIGIL_CURLE(GOT_NOTHING)
    VIGIL_CURLE(SSL_ENGINE_NOTFOUND)
    VIGIL_CURLE(SSL_ENGINE_SETFAILED)
    VIGIL_CURLE(SEND_ERROR)
    VIGIL_CURLE(RECV_ERROR)
    VIGIL_CURLE(SSL_CERTPROBLEM)
    VIGIL_CURLE(SSL_CIPHER)
    VIGIL_CURLE(PEER_FAILED_VERIFICATION)
    VIGIL_CURLE(BAD_CONTENT_ENCODING)
    VIGIL_CURLE(FILESIZE_EXCEEDED)
    VIGIL_CURLE(USE_SSL_FAILED)
    VIGIL_CURLE(SEND_FAIL_REWIND)
    VIGIL_CURLE(SSL_ENGINE_INITFAILED)
    VIGIL_CURLE(LOGIN_DENIED)
    VIGIL_CURLE(SSL_CACERT_BADFILE)
    VIGIL_CURLE(SSL_SHUTDOWN_FAILED)
    VIGIL_CURLE(AGAIN)
    VIGIL_CURLE(SSL_CRL_BADFILE)
    VIGIL_CURLE(SSL_ISSUER_ERROR)
    VIGIL_CURLE(CHUNK_FAILED)
    VIGIL_CURLE(NO_CONNECTION_AVAILABLE)
    VIGIL_CURLE(SSL_PINNEDPUBKEYNOTMATCH)
    VIGIL_CURLE(SSL_INVALIDCERTSTATUS)
    VIGIL_CURLE(HTTP2_STREAM)
    VIGIL_CURLE(RECURSIVE_API_CALL)
    VIGIL_CURLE(AUTH_ERROR)
    VIGIL_CURLE(HTTP3)
    VIGIL_CURLE(QUIC_CONNECT_ERROR)
    VIGIL_CURLE(PROXY)
#undef VIGIL_CURLE
    default:
      break;
  }
  return "CURLE_" + std::to_string(static_cast<int>(code));
}

CurlInstrumentation::CurlInstrumentation(CurlInstrumentationOptions options)
    : tracer_(options.tracer),
      propagator_(options.propagator),
      server_label_(options.server_label),
      exemplars_(options.exemplars) {
  if (options.registry != nullptr) {
    requests_ = &options.registry->counter(options.prefix + "_requests_total",
                                           "HTTP client requests, by response code (\"error\": "
                                           "no response)",
                                           {"method", "code", "server"});
    duration_ = &options.registry->histogram(options.prefix + "_request_duration_seconds",
                                             "HTTP client request time, until the response "
                                             "completed or the transfer failed",
                                             {"method", "server"}, {.buckets = options.buckets});
  }
}

CurlInstrumentation::Call::Call(CurlInstrumentation& owner, CURL* easy,
                                const CurlRequest& request) noexcept
    : owner_(owner),
      easy_(easy),
      user_headers_(request.headers),
      start_(std::chrono::steady_clock::now()) {
  try {
    method_.assign(request.method);
    std::string_view name = method_.empty() ? "HTTP" : normalize_http_method(method_);
    if (name == "_OTHER") name = "HTTP";
    Tracer& tracer = owner_.tracer_ != nullptr ? *owner_.tracer_ : instrumentation_tracer();
    span_ = tracer.start_span(name, {.kind = SpanKind::kClient, .make_current = false});
    if (!request.url.empty()) {
      ClientUrl url = parse_client_url(request.url);
      url_ = std::move(url.full);
      server_ = url.host + ":" + std::to_string(url.port);
      if (span_.recording()) {
        if (!url_.empty()) span_.set_attribute("url.full", url_);
        if (!url.host.empty()) span_.set_attribute("server.address", url.host);
        if (url.port > 0) span_.set_attribute("server.port", url.port);
      }
    }
    method_set_ = !method_.empty();
    if (!method_.empty() && span_.recording()) {
      const std::string_view m = normalize_http_method(method_);
      span_.set_attribute("http.request.method", m);
      if (m == "_OTHER") span_.set_attribute("http.request.method_original", method_);
    }
    if (easy_ == nullptr) return;

    // The context to send: the client span's, or the current one when there is no span.
    Context ctx = Context::current();
    if (span_) ctx.span = span_.context();
    HeaderMapCarrier out;
    const Propagator& p =
        owner_.propagator_ != nullptr ? *owner_.propagator_ : default_propagator();
    p.inject(ctx, out);
    if (out.headers.empty()) return;  // nothing to add: the user's list stays as it is
    curl_slist* merged = nullptr;
    bool failed = false;
    for (const curl_slist* e = user_headers_; e != nullptr && !failed; e = e->next) {
      if (e->data == nullptr) continue;
      const std::string_view entry(e->data);
      bool replaced = false;
      for (const auto& [k, v] : out.headers) replaced = replaced || sets_header(entry, k);
      if (replaced) continue;
      curl_slist* next = curl_slist_append(merged, e->data);
      if (next == nullptr) failed = true;
      merged = next != nullptr ? next : merged;
    }
    for (const auto& [k, v] : out.headers) {
      if (failed) break;
      const std::string line = k + ": " + v;
      curl_slist* next = curl_slist_append(merged, line.c_str());
      if (next == nullptr) failed = true;
      merged = next != nullptr ? next : merged;
    }
    if (failed) {  // out of memory: send the user's headers alone
      curl_slist_free_all(merged);
      return;
    }
    merged_ = merged;
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, merged_);
  } catch (...) {
    // Only allocation failure can get here: the request goes on as the user configured it.
  }
}

CurlInstrumentation::Call::~Call() {
  if (!finished_) record(CURLE_OK, true);
}

void CurlInstrumentation::Call::finish(CURLcode code) noexcept {
  if (!finished_) record(code, false);
}

void CurlInstrumentation::Call::record(CURLcode code, bool abandoned) noexcept {
  finished_ = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (easy_ != nullptr && merged_ != nullptr) {
    // Back to the user's list before ours is freed (the handle must not point at freed memory).
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, const_cast<curl_slist*>(user_headers_));
    curl_slist_free_all(merged_);
    merged_ = nullptr;
  }
  try {
    long status = 0;
    if (easy_ != nullptr) {
      if (!abandoned && code == CURLE_OK) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
#if LIBCURL_VERSION_NUM >= 0x074800  // 7.72.0: CURLINFO_EFFECTIVE_METHOD
      if (method_.empty()) {
        char* m = nullptr;
        if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_METHOD, &m) == CURLE_OK && m != nullptr) {
          method_ = m;
        }
      }
#endif
      if (server_.empty()) {
        char* u = nullptr;
        if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &u) == CURLE_OK && u != nullptr &&
            *u != '\0') {
          ClientUrl url = parse_client_url(u);
          url_ = std::move(url.full);
          server_ = url.host + ":" + std::to_string(url.port);
          if (span_.recording()) {
            if (!url_.empty()) span_.set_attribute("url.full", url_);
            if (!url.host.empty()) span_.set_attribute("server.address", url.host);
            if (url.port > 0) span_.set_attribute("server.port", url.port);
          }
        }
      }
    }
    std::string_view method = method_.empty() ? "GET" : normalize_http_method(method_);
    const bool transport_error = abandoned || code != CURLE_OK;
    char code_text[12];
    std::string_view code_label = "error";
    if (!transport_error) {
      auto [end, ec] = std::to_chars(code_text, code_text + sizeof code_text, status);
      code_label = std::string_view(code_text, static_cast<std::size_t>(end - code_text));
    }
    if (span_.recording()) {
      if (!method_set_) {
        span_.set_attribute("http.request.method", method);
        span_.update_name(method == "_OTHER" ? "HTTP" : method);
        if (method == "_OTHER") span_.set_attribute("http.request.method_original", method_);
      }
      if (transport_error) {
        span_.set_attribute("error.type",
                            abandoned ? std::string("abandoned") : curl_error_name(code));
        span_.set_status(StatusCode::kError, abandoned
                                                 ? std::string_view("the request was not finished")
                                                 : std::string_view(curl_easy_strerror(code)));
      } else if (status > 0) {
        span_.set_attribute("http.response.status_code", static_cast<int64_t>(status));
        if (status >= 400) {
          span_.set_attribute("error.type", code_label);
          span_.set_status(StatusCode::kError);
        }
      }
    }
    if (owner_.requests_ != nullptr) {
      const std::string_view server = owner_.server_label_ ? std::string_view(server_) : "";
      owner_.requests_->labels(method, code_label, server).inc();
      metrics::Histogram h = owner_.duration_->labels(method, server);
      if (owner_.exemplars_ && span_.recording()) {
        observe_with_trace(h, seconds, ExemplarIds(span_));
      } else {
        h.observe(seconds);
      }
    }
  } catch (...) {
    // Only allocation failure can get here; instrumentation must never fail a request.
  }
  span_.end();
}

CURLcode CurlInstrumentation::perform(CURL* easy, const CurlRequest& request) noexcept {
  Call call(*this, easy, request);
  const CURLcode rc = curl_easy_perform(easy);
  call.finish(rc);
  return rc;
}

CURLcode traced_perform(CURL* easy, const CurlRequest& request) noexcept {
  static CurlInstrumentation* global = []() -> CurlInstrumentation* {
    try {
      return new CurlInstrumentation({.registry = &metrics::Registry::global()});
    } catch (...) {
      return nullptr;  // a clash with the user's http_client_* metrics: spans without metrics
    }
  }();
  if (global == nullptr) {
    static CurlInstrumentation spans_only;
    return spans_only.perform(easy, request);
  }
  return global->perform(easy, request);
}

}  // namespace vigil::trace
