// TracerProvider, Tracer and the global provider.
#include "vigil/trace/tracer.h"

#include <atomic>
#include <exception>

#include "internal.h"
#include "vigil/core/error.h"

namespace vigil::trace {

// ---- SpanLimits ----

SpanLimits SpanLimits::from_environment(const Environment& env) {
  SpanLimits l;
  const auto get = [&](std::string_view name, uint32_t fallback) {
    return static_cast<uint32_t>(env.get_int(name, fallback, 0, UINT32_MAX));
  };
  const uint32_t attr = get("OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
  const uint32_t length = get("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
  l.attribute_count = get("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", attr);
  l.attribute_value_length = get("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", length);
  l.event_count = get("OTEL_SPAN_EVENT_COUNT_LIMIT", 128);
  l.link_count = get("OTEL_SPAN_LINK_COUNT_LIMIT", 128);
  l.event_attribute_count = get("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", 128);
  l.link_attribute_count = get("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", 128);
  return l;
}

// ---- Tracer ----

Tracer::Tracer(detail::ProviderState* state, InstrumentationScope scope)
    : state_(state), enabled_(&state->enabled), scope_(std::move(scope)) {}

Span Tracer::start_span_slow(std::string_view name, const SpanOptions& options) noexcept {
  detail::ProviderState* st = state_;
  const SpanContext* parent = nullptr;
  if (options.parent != nullptr) {
    if (options.parent->valid()) parent = options.parent;
  } else if (!options.root) {
    const SpanContext& current = detail::current_context();
    if (current.valid()) parent = &current;
  }
  Span span;
  TraceFlags flags;
  detail::IdGenerator& ids = detail::id_generator();
  if (parent != nullptr) {
    span.trace_id_ = parent->trace_id;
    flags.value = parent->flags.value & TraceFlags::kRandom;
  } else {
    const uint64_t hi = detail::next_random(ids);
    const uint64_t lo = detail::next_random(ids);
    span.trace_id_ = TraceId::from_u64(hi, (hi | lo) != 0 ? lo : 1);  // never all zero
    flags.value = TraceFlags::kRandom;
  }
  const SamplingDecision decision =
      st->sampling_shortcut.usable
          ? st->sampling_shortcut.decide(parent)
          : st->sampler->should_sample(parent, span.trace_id_, name, options.kind);
  if (decision == SamplingDecision::kRecordAndSample) flags.value |= TraceFlags::kSampled;
  const uint64_t span_id = detail::next_random(ids);
  span.span_id_ = SpanId::from_u64(span_id != 0 ? span_id : 1);
  span.flags_ = flags;
  span.live_ = true;

  const bool recording = decision != SamplingDecision::kDrop;
  if (!recording && (parent == nullptr || parent->trace_state.empty())) {
    // The common unsampled case: the context lives in the Span (and in the frame it pushes).
    if (options.make_current) {
      span.frame_serial_ =
          detail::push_context(span.trace_id_, span.span_id_, flags, span.frame_index_);
    }
    return span;
  }
  start_record(span, parent, recording, name, options);
  return span;
}

// A span with a record: recording, or unsampled with a tracestate to carry. Out of line so that
// the unsampled path above stays short.
[[gnu::noinline]] void Tracer::start_record(Span& span, const SpanContext* parent, bool recording,
                                            std::string_view name,
                                            const SpanOptions& options) noexcept {
  detail::ProviderState* st = state_;
  const bool has_trace_state = parent != nullptr && !parent->trace_state.empty();
  detail::SpanRecord* rec = detail::acquire_record(recording);
  if (rec == nullptr) [[unlikely]] {
    span.live_ = false;
    return;
  }
  span.rec_ = rec;
  rec->provider = st;
  SpanData& d = rec->data;
  d.context.trace_id = span.trace_id_;
  d.context.span_id = span.span_id_;
  d.context.flags = span.flags_;
  d.context.remote = false;
  if (has_trace_state || !d.context.trace_state.empty()) {
    if (has_trace_state) {
      d.context.trace_state = parent->trace_state;
    } else {
      d.context.trace_state.clear();
    }
  }
  if (parent != nullptr) {
    d.parent_span_id = parent->span_id;
    d.parent_remote = parent->remote;
  } else {
    d.parent_span_id = SpanId();
    d.parent_remote = false;
  }
  rec->recording = recording;
  if (recording) {
    detail::assign_string(d.name, name);
    d.kind = options.kind;
    rec->uncaught_at_start = std::uncaught_exceptions();
    rec->exception_recorded = false;
    rec->ok_on_success = options.ok_on_success;
    d.start_unix_nanos =
        options.start_unix_nanos != 0 ? options.start_unix_nanos : detail::now_unix_nanos();
    d.scope = &scope_;
    d.resource = &st->resource;
    for (SpanProcessor* p : st->start_processors) p->on_start(d);
  }
  if (options.make_current) {
    span.frame_serial_ = has_trace_state ? detail::push_context(d.context, span.frame_index_)
                                         : detail::push_context(span.trace_id_, span.span_id_,
                                                                span.flags_, span.frame_index_);
  }
}

// ---- TracerProvider ----

TracerProvider::TracerProvider(TracerProviderOptions options)
    : state_(std::make_unique<detail::ProviderState>()) {
  for (const auto& p : options.processors) {
    if (!p) throw Error("TracerProvider: a span processor is null");
  }
  state_->resource =
      options.resource.attributes().empty() ? Resource::create() : std::move(options.resource);
  state_->sampler = options.sampler ? std::move(options.sampler) : parent_based(always_on());
  state_->sampling_shortcut = detail::shortcut_of(*state_->sampler);
  state_->processors = std::move(options.processors);
  for (const auto& p : state_->processors) {
    if (p->wants_on_start()) state_->start_processors.push_back(p.get());
    if (dynamic_cast<BatchSpanProcessor*>(p.get()) == nullptr) {
      state_->materialize_attributes = true;
    }
  }
  state_->processor_count = static_cast<uint32_t>(state_->processors.size());
  state_->limits = options.limits;
  state_->enabled.store(options.enabled, std::memory_order_relaxed);
}

std::unique_ptr<TracerProvider> TracerProvider::noop() {
  TracerProviderOptions o;
  o.enabled = false;
  o.resource = Resource({{"service.name", std::string("noop")}});
  return std::make_unique<TracerProvider>(std::move(o));
}

TracerProvider::~TracerProvider() { shutdown(std::chrono::milliseconds(5000)); }

Tracer& TracerProvider::tracer(std::string_view name, std::string_view version) {
  std::lock_guard lock(state_->tracers_mutex);
  for (const auto& t : state_->tracers) {
    if (t->scope().name == name && t->scope().version == version) return *t;
  }
  // (Tracer's constructor is private to TracerProvider: no make_unique.)
  state_->tracers.push_back(std::unique_ptr<Tracer>(
      new Tracer(state_.get(), InstrumentationScope{std::string(name), std::string(version), {}})));
  return *state_->tracers.back();
}

const Resource& TracerProvider::resource() const noexcept { return state_->resource; }
const SpanLimits& TracerProvider::limits() const noexcept { return state_->limits; }
const Sampler& TracerProvider::sampler() const noexcept { return *state_->sampler; }
bool TracerProvider::enabled() const noexcept {
  return state_->enabled.load(std::memory_order_relaxed);
}

bool TracerProvider::force_flush(std::chrono::milliseconds timeout) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ok = true;
  for (const auto& p : state_->processors) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    ok = p->force_flush(std::max(left, std::chrono::milliseconds(0))) && ok;
  }
  return ok;
}

bool TracerProvider::shutdown(std::chrono::milliseconds timeout) noexcept {
  if (state_->shut_down.exchange(true)) return true;
  state_->enabled.store(false, std::memory_order_relaxed);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ok = true;
  for (const auto& p : state_->processors) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    ok = p->shutdown(std::max(left, std::chrono::milliseconds(0))) && ok;
  }
  return ok;
}

// ---- global ----

namespace {
std::atomic<TracerProvider*>& global_slot() {
  // The default stays reachable through its own static after set_global_provider
  // replaces it: a span started from it may still be running, so it is never freed
  // (and leak checkers see it as still reachable, not lost).
  static TracerProvider* const default_provider = TracerProvider::noop().release();
  static std::atomic<TracerProvider*> slot{default_provider};
  return slot;
}
std::atomic<bool> g_global_set{false};
}  // namespace

TracerProvider& global_provider() noexcept {
  return *global_slot().load(std::memory_order_acquire);
}

void set_global_provider(std::unique_ptr<TracerProvider> provider) {
  if (!provider) throw Error("set_global_provider: the provider is null");
  if (g_global_set.exchange(true)) {
    throw Error(
        "set_global_provider: the global tracer provider was already set (set it once, "
        "at start)");
  }
  global_slot().store(provider.release(), std::memory_order_release);
}

Tracer& get_tracer(std::string_view name, std::string_view version) {
  return global_provider().tracer(name, version);
}

Tracer& noop_tracer() noexcept {
  // Never destroyed: a tracer taken during static destruction still works.
  static TracerProvider* const provider = TracerProvider::noop().release();
  static Tracer& tracer = provider->tracer("vigil.noop");
  return tracer;
}

}  // namespace vigil::trace
