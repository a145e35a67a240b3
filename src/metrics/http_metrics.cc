#include "vigil/metrics/http_metrics.h"

#include <array>
#include <string>

namespace vigil::metrics {
namespace {

// "100" ... "599" without allocating per request.
const std::array<std::string, 500>& status_strings() {
  static const auto* table = [] {
    auto* t = new std::array<std::string, 500>;
    for (int i = 0; i < 500; ++i) (*t)[static_cast<size_t>(i)] = std::to_string(100 + i);
    return t;
  }();
  return *table;
}

std::string_view status_label(int code) noexcept {
  if (code < 100 || code > 599) return "other";
  return status_strings()[static_cast<size_t>(code - 100)];
}

}  // namespace

HttpServerMetrics::HttpServerMetrics(Registry& registry, HttpServerMetricsOptions options)
    : requests_(&registry.counter(options.prefix + "_requests_total", "HTTP requests handled",
                                  {"method", "route", "code"}, options.metric_options)),
      duration_(&registry.histogram(options.prefix + "_request_duration_seconds",
                                    "HTTP request handling time", {"method", "route"},
                                    {.buckets = options.buckets}, options.metric_options)),
      active_(registry
                  .gauge(options.prefix + "_active_requests", "HTTP requests being handled", {},
                         options.metric_options)
                  .get()) {
  status_strings();
}

HttpServerMetrics::Scope HttpServerMetrics::start(std::string_view method,
                                                  std::string_view route) noexcept {
  return Scope(this, method, route);
}

HttpServerMetrics::Scope::Scope(HttpServerMetrics* owner, std::string_view method,
                                std::string_view route) noexcept
    : owner_(owner), method_(method), route_(route), start_(std::chrono::steady_clock::now()) {
  owner_->active_.inc();
}

HttpServerMetrics::Scope::Scope(Scope&& other) noexcept
    : owner_(other.owner_),
      method_(other.method_),
      route_(other.route_),
      start_(other.start_),
      finished_(other.finished_) {
  other.finished_ = true;
}

HttpServerMetrics::Scope::~Scope() {
  if (!finished_) finish(500);
}

void HttpServerMetrics::Scope::finish(int status_code, ExemplarLabels exemplar) noexcept {
  if (finished_) return;
  finished_ = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  owner_->active_.dec();
  try {
    owner_->requests_->labels(method_, route_, status_label(status_code)).inc();
    if (exemplar.size() == 0) {
      owner_->duration_->labels(method_, route_).observe(seconds);
    } else {
      owner_->duration_->labels(method_, route_).observe(seconds, exemplar);
    }
  } catch (...) {
    // Only allocation failure can get here; metrics must never fail a request.
  }
}

}  // namespace vigil::metrics
