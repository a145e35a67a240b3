// instrument_operation / OperationScope (vigil/trace/operation.h).
#include "vigil/trace/operation.h"

#include <cstring>
#include <optional>
#include <string>

#include "metrics/detail/proc_reader.h"

namespace vigil::trace {
namespace {

// "<a><b><c>" in a stack buffer, or in `heap` when longer. No allocation for short names.
class Joined {
 public:
  Joined(std::string_view a, std::string_view b, std::string_view c = {}) noexcept {
    const size_t n = a.size() + b.size() + c.size();
    if (n <= sizeof(buf_)) {
      // (memcpy from an empty view's null data() is undefined: skip empty parts)
      if (!a.empty()) std::memcpy(buf_, a.data(), a.size());
      if (!b.empty()) std::memcpy(buf_ + a.size(), b.data(), b.size());
      if (!c.empty()) std::memcpy(buf_ + a.size() + b.size(), c.data(), c.size());
      view_ = std::string_view(buf_, n);
      return;
    }
    try {
      heap_.reserve(n);
      heap_.append(a).append(b).append(c);
      view_ = heap_;
    } catch (...) {
      view_ = a;  // out of memory: the first part only
    }
  }
  std::string_view view() const noexcept { return view_; }

 private:
  char buf_[200];
  std::string heap_;
  std::string_view view_;
};

int64_t rss_now() noexcept {
  const std::optional<uint64_t> rss = metrics::detail::resident_bytes();
  return rss ? static_cast<int64_t>(*rss) : -1;
}

}  // namespace

OperationScope::OperationScope(std::string_view operation_type, std::string_view function,
                               OperationOptions options, SourceLocation loc) noexcept
    : type_(operation_type),
      function_(function.empty() ? function_span_name(loc.function_name()) : function),
      options_(options),
      uncaught_(std::uncaught_exceptions()) {
  Tracer& tracer = options_.tracer != nullptr ? *options_.tracer : instrumentation_tracer();
  const Joined name(type_, ".", function_);
  span_ = tracer.start_span(name.view(), SpanOptions{.kind = options_.kind});
  if (span_.recording()) {
    span_.set_attribute("operation.type", type_).set_attribute("code.function.name", function_);
  }
  if (options_.record_memory) rss_before_ = rss_now();
  start_ = std::chrono::steady_clock::now();
}

double OperationScope::elapsed() const noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void OperationScope::fail(std::string_view message) noexcept {
  failed_ = true;
  span_.set_status(StatusCode::kError, message);
}

OperationScope::~OperationScope() {
  const double seconds = elapsed();
  const bool error = failed_ || std::uncaught_exceptions() > uncaught_;
  metrics::NamedMetrics& m =
      options_.metrics != nullptr ? *options_.metrics : metrics::NamedMetrics::global();
  const std::string_view prefix = options_.metric_prefix;
  {
    const Joined name(prefix, "operations");
    m.increment(name.view(), {{"operation_type", type_},
                              {"function", function_},
                              {"outcome", error ? "error" : "success"}});
  }
  if (options_.record_duration) {
    const Joined name(prefix, "operation.duration");
    m.observe_seconds(name.view(), seconds, {{"operation_type", type_}, {"function", function_}});
  }
  if (options_.record_memory && rss_before_ >= 0) {
    const int64_t after = rss_now();
    if (after >= 0) {
      const int64_t delta = after - rss_before_;
      const Joined name(prefix, "operation.memory.delta.bytes");
      m.add(name.view(), static_cast<double>(delta), {{"operation_type", type_}});
      span_.set_attribute("vigil.memory.delta_bytes", delta);
    }
  }
  // On error the span has its status (fail(), record_exception, or the exception leaving it
  // when it ends just after this).
  if (!error) span_.set_status(StatusCode::kOk);
}

}  // namespace vigil::trace
