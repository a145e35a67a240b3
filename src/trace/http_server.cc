#include "vigil/trace/http_server.h"

#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <typeinfo>

#include "internal.h"
#include "vigil/trace/exemplar.h"
#include "vigil/trace/instrument.h"

namespace vigil::trace {

std::string_view normalize_http_method(std::string_view method) noexcept {
  static constexpr std::array<std::string_view, 9> kKnown = {
      "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"};
  for (std::string_view m : kKnown) {
    if (m == method) return m;
  }
  return "_OTHER";
}

HttpServerMiddleware::HttpServerMiddleware(HttpServerMiddlewareOptions options)
    : tracer_(options.tracer), propagator_(options.propagator), exemplars_(options.exemplars) {
  if (options.registry != nullptr) metrics_.emplace(*options.registry, std::move(options.metrics));
}

namespace {

// "METHOD route" into `buf` when it fits; otherwise into `big`.
std::string_view span_name(std::string_view method, std::string_view route, char (&buf)[256],
                           std::string& big) {
  if (method == "_OTHER") method = "HTTP";
  if (route.empty()) return method;
  const std::size_t n = method.size() + 1 + route.size();
  if (n <= sizeof buf) {
    std::memcpy(buf, method.data(), method.size());
    buf[method.size()] = ' ';
    std::memcpy(buf + method.size() + 1, route.data(), route.size());
    return {buf, n};
  }
  try {
    big.reserve(n);
    big.append(method).append(1, ' ').append(route);
    return big;
  } catch (...) {
    return method;
  }
}

}  // namespace

HttpServerMiddleware::Scope::Scope(HttpServerMiddleware& middleware,
                                   const HttpServerRequest& request) noexcept
    : owner_(middleware), method_(normalize_http_method(request.method)) {
  if (owner_.metrics_) metrics_.emplace(owner_.metrics_->start(method_, request.route));
  if (!request.trace) return;
  Tracer& tracer = owner_.tracer_ != nullptr ? *owner_.tracer_ : instrumentation_tracer();
  if (!tracer.enabled()) return;
  try {
    Context incoming;
    if (request.headers != nullptr) {
      const Propagator& p =
          owner_.propagator_ != nullptr ? *owner_.propagator_ : default_propagator();
      p.extract(*request.headers, incoming);
      if (!incoming.baggage.empty()) baggage_.emplace(incoming.baggage);
    }
    char buf[256];
    std::string big;
    span_ = tracer.start_span(span_name(method_, request.route, buf, big),
                              {.kind = SpanKind::kServer, .parent = &incoming.span, .root = true});
  } catch (...) {
    // Only allocation failure can get here: the request goes on without a span.
    return;
  }
  if (!span_.recording()) return;
  span_.set_attribute("http.request.method", method_);
  if (method_ == "_OTHER") span_.set_attribute("http.request.method_original", request.method);
  if (!request.route.empty()) span_.set_attribute("http.route", request.route);
  if (!request.path.empty()) span_.set_attribute("url.path", request.path);
  if (!request.scheme.empty()) span_.set_attribute("url.scheme", request.scheme);
  if (!request.server_address.empty()) {
    span_.set_attribute("server.address", request.server_address);
  }
  if (request.server_port > 0) span_.set_attribute("server.port", request.server_port);
  if (!request.client_address.empty()) {
    span_.set_attribute("client.address", request.client_address);
  }
  std::string_view agent = request.user_agent;
  if (agent.empty() && request.headers != nullptr) {
    try {
      agent = request.headers->get("user-agent").value_or(std::string_view());
    } catch (...) {
    }
  }
  if (!agent.empty()) span_.set_attribute("user_agent.original", agent);
}

HttpServerMiddleware::Scope::~Scope() {
  if (!finished_) finish(500);
}

void HttpServerMiddleware::Scope::set_route(std::string_view route) noexcept {
  if (finished_) return;
  if (metrics_) metrics_->set_route(route);
  if (!span_.recording()) return;
  span_.set_attribute("http.route", route);
  char buf[256];
  std::string big;
  span_.update_name(span_name(method_, route, buf, big));
}

void HttpServerMiddleware::Scope::record_exception(const std::exception& e) noexcept {
  if (!span_.recording()) return;
  span_.record_exception(e);
  try {
    span_.set_attribute("error.type", detail::demangle(typeid(e).name()));
    error_type_set_ = true;
  } catch (...) {
  }
}

void HttpServerMiddleware::Scope::record_current_exception() noexcept {
  if (!span_.recording()) return;
  try {
    throw;
  } catch (const std::exception& e) {
    record_exception(e);
  } catch (...) {
    span_.record_current_exception();
    span_.set_attribute("error.type", "unknown");
    error_type_set_ = true;
  }
}

void HttpServerMiddleware::Scope::finish(int status_code) noexcept {
  if (finished_) return;
  finished_ = true;
  const bool sampled = span_.recording();
  if (sampled) {
    span_.set_attribute("http.response.status_code", status_code);
    const bool valid = status_code >= 100 && status_code <= 599;
    if ((status_code >= 500 || !valid) && !error_type_set_) {
      // (after record_exception() the status, its message and error.type are set already)
      span_.set_status(StatusCode::kError);
      {
        char code[12];
        auto [end, ec] = std::to_chars(code, code + sizeof code, status_code);
        span_.set_attribute("error.type",
                            valid ? std::string_view(code, static_cast<std::size_t>(end - code))
                                  : std::string_view("_OTHER"));
      }
    }
  }
  if (metrics_) {
    if (sampled && owner_.exemplars_) {
      const ExemplarIds ids(span_);
      metrics_->finish(status_code, {{kExemplarTraceIdLabel, ids.trace_id()},
                                     {kExemplarSpanIdLabel, ids.span_id()}});
    } else {
      metrics_->finish(status_code);
    }
  }
  span_.end();
  baggage_.reset();
}

}  // namespace vigil::trace
