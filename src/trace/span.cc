// Span records, their pools, the thread's current context and the Span API.
#include "vigil/trace/span.h"

#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <typeinfo>
#include <vector>

#include "internal.h"
#include "vigil/trace/context.h"
#include "vigil/trace/processor.h"

namespace vigil::trace {
namespace detail {
namespace {

// ---- record pools ----
// Each thread keeps a free list; records ended or exported on another thread go to that
// thread's list. Lists over kLocalMax spill half to a global list that threads refill from in
// chunks. Records are never freed (bounded by the peak number of live spans).

constexpr std::size_t kLocalMax = 512;
constexpr std::size_t kRefillChunk = 64;

struct GlobalPool {
  std::mutex mutex;
  SpanRecord* head = nullptr;
  std::size_t count = 0;
};
GlobalPool& global_pool() {
  static GlobalPool* p = new GlobalPool();  // never destroyed
  return *p;
}

struct LocalPool {
  SpanRecord* head = nullptr;
  std::size_t count = 0;
  ~LocalPool();
};
thread_local bool t_pool_gone = false;
thread_local LocalPool t_pool;

void give_to_global(SpanRecord* head, SpanRecord* tail, std::size_t n) noexcept {
  GlobalPool& g = global_pool();
  std::lock_guard lock(g.mutex);
  tail->next_free = g.head;
  g.head = head;
  g.count += n;
}

LocalPool::~LocalPool() {
  t_pool_gone = true;
  if (head == nullptr) return;
  SpanRecord* tail = head;
  while (tail->next_free != nullptr) tail = tail->next_free;
  give_to_global(head, tail, count);
  head = nullptr;
  count = 0;
}

}  // namespace

SpanRecord* acquire_record(bool recording) noexcept {
  if (!t_pool_gone) {
    LocalPool& p = t_pool;
    if (p.head == nullptr) {
      GlobalPool& g = global_pool();
      std::lock_guard lock(g.mutex);
      for (std::size_t i = 0; i < kRefillChunk && g.head != nullptr; ++i) {
        SpanRecord* r = g.head;
        g.head = r->next_free;
        --g.count;
        r->next_free = p.head;
        p.head = r;
        ++p.count;
      }
    }
    if (p.head != nullptr) {
      SpanRecord* r = p.head;
      p.head = r->next_free;
      --p.count;
      r->next_free = nullptr;
      if (recording) {
        r->data.clear();
        r->log.clear();
      }
      return r;
    }
  } else {
    GlobalPool& g = global_pool();
    std::lock_guard lock(g.mutex);
    if (g.head != nullptr) {
      SpanRecord* r = g.head;
      g.head = r->next_free;
      --g.count;
      r->next_free = nullptr;
      if (recording) {
        r->data.clear();
        r->log.clear();
      }
      return r;
    }
  }
  return new (std::nothrow) SpanRecord();
}

void recycle_record(SpanRecord* rec) noexcept {
  // data.clear() happens in acquire_record, on the thread that reuses the record, so the export
  // thread does not write (and steal) the record's cache lines.
  rec->provider = nullptr;
  rec->recording = false;
  rec->status_final = false;
  if (t_pool_gone) {
    rec->next_free = nullptr;
    give_to_global(rec, rec, 1);
    return;
  }
  LocalPool& p = t_pool;
  rec->next_free = p.head;
  p.head = rec;
  if (++p.count > kLocalMax) {
    // Spill half.
    SpanRecord* head = p.head;
    SpanRecord* tail = head;
    for (std::size_t i = 1; i < kLocalMax / 2; ++i) tail = tail->next_free;
    p.head = tail->next_free;
    p.count -= kLocalMax / 2;
    tail->next_free = nullptr;
    give_to_global(head, tail, kLocalMax / 2);
  }
}

const SpanContext& no_context() noexcept {
  static const SpanContext empty;  // (not constinit: clang 14 cannot with libstdc++ 12's string)
  return empty;
}

namespace {

std::atomic<uint64_t> g_thread_number{0};

// Frees the thread's context stack when the thread exits. Outgrown arrays are kept until then:
// current_span_context() hands out references into the array, which must stay readable (they
// keep the contexts they had when the stack grew). Growth doubles, so this at most doubles the
// memory of the stack.
struct ContextStackOwner {
  std::vector<std::unique_ptr<ContextFrame[]>> outgrown;
  ~ContextStackOwner() {
    ThreadContext& tc = t_context;
    delete[] tc.frames;
    tc.frames = nullptr;
    tc.top = 0;
    tc.capacity = 0;
    tc.gone = true;
  }
};

}  // namespace

bool grow_context_stack() noexcept {
  ThreadContext& tc = t_context;
  if (tc.gone) return false;
  const uint32_t capacity = tc.capacity == 0 ? 16 : tc.capacity * 2;
  thread_local ContextStackOwner owner;  // registers the cleanup at the first push
  try {
    owner.outgrown.reserve(owner.outgrown.size() + 1);
  } catch (...) {
    return false;
  }
  ContextFrame* frames = new (std::nothrow) ContextFrame[capacity];
  if (frames == nullptr) return false;
  if (tc.frames == nullptr) {
    // Serials are unique in the process (thread number in the top 20 bits, a count of pushes in
    // the lower 44: 200 days at a million spans a second; the thread number wraps after 2^20
    // threads, harmless as a clash also needs a span ended on another thread at the same
    // depth), so a span ended on another thread never matches a frame of that thread.
    tc.next_serial = (g_thread_number.fetch_add(1, std::memory_order_relaxed) + 1) << 44;
  } else {
    try {
      for (uint32_t i = 0; i <= tc.top; ++i) frames[i] = tc.frames[i];  // copies: see above
    } catch (...) {
      delete[] frames;
      return false;
    }
    owner.outgrown.emplace_back(tc.frames);  // reserved: does not throw
  }
  tc.frames = frames;
  tc.capacity = capacity;
  return true;
}

uint64_t push_context(const SpanContext& ctx, uint32_t& index) noexcept {
  ThreadContext& tc = t_context;
  const uint32_t i = tc.top + 1;
  if (i >= tc.capacity) {
    try {
      const SpanContext copy = ctx;  // `ctx` may be one of the frames
      if (!grow_context_stack()) return 0;
      tc.frames[i].span = copy;
    } catch (...) {
      return 0;
    }
  } else {
    try {
      copy_context(tc.frames[i].span, ctx);  // allocates only for a long tracestate
    } catch (...) {
      return 0;
    }
  }
  ContextFrame& f = tc.frames[i];
  f.serial = ++tc.next_serial;
  f.ended = false;
  tc.top = i;
  index = i;
  return f.serial;
}

namespace {
Baggage& thread_baggage() noexcept {
  thread_local Baggage baggage;
  return baggage;
}
}  // namespace

}  // namespace detail

// ---- SpanRef ----

const SpanData& SpanRef::operator*() const noexcept { return rec_->data; }
void SpanRef::reset() noexcept {
  if (rec_ != nullptr) {
    detail::unref_record(rec_);
    rec_ = nullptr;
  }
}

// ---- AttributeArg ----

void AttributeArg::assign_to(AttributeValue& out) const {
  switch (type_) {
    case Type::kString:
      assign(out, s_);
      break;
    case Type::kBool:
      out = b_;
      break;
    case Type::kInt:
      out = i_;
      break;
    case Type::kDouble:
      out = d_;
      break;
    case Type::kValue:
      assign(out, *v_);
      break;
  }
}

// ---- Span ----

std::string detail::demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

namespace {

void truncate_value(AttributeValue& v, uint32_t limit) {
  if (limit == 0) return;
  if (auto* s = std::get_if<std::string>(&v)) {
    if (s->size() > limit) s->resize(limit);
  } else if (auto* a = std::get_if<std::vector<std::string>>(&v)) {
    for (std::string& e : *a) {
      if (e.size() > limit) e.resize(limit);
    }
  }
}

// Adds attributes to `list` within `limit`; returns how many were dropped.
uint32_t add_attributes(AttributeList& list, std::initializer_list<Attribute> attrs, uint32_t limit,
                        uint32_t length_limit) {
  uint32_t dropped = 0;
  for (const Attribute& a : attrs) {
    AttributeValue* slot = list.slot(a.key, limit);
    if (slot == nullptr) {
      ++dropped;
      continue;
    }
    a.value.assign_to(*slot);
    truncate_value(*slot, length_limit);
  }
  return dropped;
}

}  // namespace

bool Span::recording() const noexcept { return rec_ != nullptr && rec_->recording; }

SpanContext Span::context() const {
  if (rec_ != nullptr) return rec_->data.context;
  if (!live_) return SpanContext();
  SpanContext c;
  c.trace_id = trace_id_;
  c.span_id = span_id_;
  c.flags = flags_;
  return c;
}

void Span::set_attribute_slow(std::string_view key, const AttributeArg& value) noexcept {
  detail::SpanRecord* rec = rec_;
  if (!rec->recording) return;
  const SpanLimits& limits = rec->provider->limits;
  SpanData& d = rec->data;
  uint32_t count_limit = limits.attribute_count;
  if (!d.attributes.empty()) [[unlikely]] {
    // Attributes a processor added at start are in the list: a key there is updated there.
    for (KeyValue& kv : d.attributes) {
      if (detail::equal_strings(kv.key, key)) {
        try {
          value.assign_to(kv.value);
          truncate_value(kv.value, limits.attribute_value_length);
        } catch (...) {
          ++d.dropped_attributes_count;
        }
        return;
      }
    }
    const auto listed = static_cast<uint32_t>(d.attributes.size());
    count_limit = count_limit > listed ? count_limit - listed : 0;
  }
  if (detail::log_set(rec->log, key, value, count_limit, limits.attribute_value_length) !=
      detail::LogResult::kSet) [[unlikely]] {
    ++d.dropped_attributes_count;
  }
}

Span& Span::set_value(std::string_view key, AttributeValue value) noexcept {
  if (rec_ != nullptr) set_attribute_slow(key, AttributeArg(value));
  return *this;
}

Span& Span::add_event(std::string_view name, std::initializer_list<Attribute> attributes,
                      uint64_t time_unix_nanos) noexcept {
  if (rec_ == nullptr || !rec_->recording) return *this;
  const SpanLimits& limits = rec_->provider->limits;
  if (rec_->data.events.size() >= limits.event_count) {
    ++rec_->data.dropped_events_count;
    return *this;
  }
  Event& e = rec_->data.events.next_slot();
  e.name.assign(name);
  e.time_unix_nanos = time_unix_nanos != 0 ? time_unix_nanos : detail::now_unix_nanos();
  e.attributes.clear();
  e.dropped_attributes_count = add_attributes(
      e.attributes, attributes, limits.event_attribute_count, limits.attribute_value_length);
  return *this;
}

Span& Span::add_link(const SpanContext& context,
                     std::initializer_list<Attribute> attributes) noexcept {
  if (rec_ == nullptr || !rec_->recording || !context.valid()) return *this;
  const SpanLimits& limits = rec_->provider->limits;
  if (rec_->data.links.size() >= limits.link_count) {
    ++rec_->data.dropped_links_count;
    return *this;
  }
  Link& l = rec_->data.links.next_slot();
  l.context = context;
  l.attributes.clear();
  l.dropped_attributes_count = add_attributes(l.attributes, attributes, limits.link_attribute_count,
                                              limits.attribute_value_length);
  return *this;
}

Span& Span::set_status(StatusCode code, std::string_view message) noexcept {
  if (rec_ == nullptr || !rec_->recording || rec_->status_final) return *this;
  if (code == StatusCode::kUnset) return *this;
  rec_->data.status.code = code;
  if (code == StatusCode::kOk) {
    rec_->status_final = true;
    rec_->data.status.message.clear();
  } else {
    rec_->data.status.message.assign(message);
  }
  return *this;
}

Span& Span::record_exception(const std::exception& e) noexcept {
  if (rec_ == nullptr || !rec_->recording) return *this;
  try {
    return record_exception(detail::demangle(typeid(e).name()), e.what());
  } catch (...) {
    return *this;
  }
}

Span& Span::record_exception(std::string_view type, std::string_view message) noexcept {
  if (rec_ == nullptr || !rec_->recording) return *this;
  add_event("exception", {{"exception.type", type}, {"exception.message", message}});
  set_status(StatusCode::kError, message);
  rec_->exception_recorded = true;
  return *this;
}

Span& Span::record_current_exception() noexcept {
  if (rec_ == nullptr || !rec_->recording) return *this;
  try {
    throw;
  } catch (const std::exception& e) {
    return record_exception(e);
  } catch (...) {
    return record_exception("unknown", "unknown exception");
  }
}

Span& Span::update_name(std::string_view name) noexcept {
  if (rec_ == nullptr || !rec_->recording) return *this;
  rec_->data.name.assign(name);
  return *this;
}

// The status an ending span gets from how its scope is left: an exception leaving it (more
// exceptions in flight than when it started: the span is destroyed during stack unwinding) is
// recorded as an error unless record_exception already recorded one; otherwise
// SpanOptions::ok_on_success sets ok when the status is unset. During unwinding the exception
// object cannot be reached from standard C++, so its type is "unknown" here (in_span and
// instrument_operation catch it and record its type and message).
void Span::finish_status() noexcept {
  if (std::uncaught_exceptions() > rec_->uncaught_at_start) {
    if (!rec_->exception_recorded) {
      constexpr std::string_view kMessage = "an exception left the span's scope";
      add_event("exception", {{"exception.type", "unknown"},
                              {"exception.message", kMessage},
                              {"exception.escaped", true}});
      set_status(StatusCode::kError, kMessage);
    }
  } else if (rec_->ok_on_success && rec_->data.status.code == StatusCode::kUnset) {
    set_status(StatusCode::kOk);
  }
}

void Span::end_slow(uint64_t end_unix_nanos) noexcept {
  live_ = false;
  if (frame_serial_ != 0) {
    detail::pop_context(frame_index_, frame_serial_);
    frame_serial_ = 0;
  }
  if (rec_ != nullptr) end_record(end_unix_nanos);
}

// Out of line so that ending a span without a record stays short.
[[gnu::noinline]] void Span::end_record(uint64_t end_unix_nanos) noexcept {
  if (rec_->recording) finish_status();
  detail::SpanRecord* rec = std::exchange(rec_, nullptr);
  if (!rec->recording) {
    detail::recycle_record(rec);
    return;
  }
  rec->data.end_unix_nanos = end_unix_nanos != 0 ? end_unix_nanos : detail::now_unix_nanos();
  // A re-anchored clock may step back by a few microseconds: a span never ends before it starts.
  if (rec->data.end_unix_nanos < rec->data.start_unix_nanos) {
    rec->data.end_unix_nanos = rec->data.start_unix_nanos;
  }
  rec->recording = false;
  detail::ProviderState* p = rec->provider;
  const uint32_t n = p->processor_count;
  if (n == 0) {
    detail::recycle_record(rec);
    return;
  }
  if (p->materialize_attributes && !rec->log.empty()) {
    rec->data.dropped_attributes_count += detail::log_materialize(rec->log, rec->data.attributes);
  }
  rec->refs.store(n, std::memory_order_relaxed);
  for (const auto& proc : p->processors) proc->on_end(SpanRef(rec));
}

// ---- Context ----

const SpanContext& current_span_context() noexcept { return detail::current_context(); }
const Baggage& current_baggage() noexcept { return detail::thread_baggage(); }

Context Context::current() { return Context{detail::current_context(), detail::thread_baggage()}; }

ContextScope::ContextScope(const Context& ctx) {
  frame_serial_ = detail::push_context(ctx.span, frame_index_);
  saved_baggage_ = std::exchange(detail::thread_baggage(), ctx.baggage);
  baggage_set_ = true;
}
ContextScope::ContextScope(const SpanContext& span) {
  frame_serial_ = detail::push_context(span, frame_index_);
}
ContextScope::ContextScope(const Baggage& baggage) {
  saved_baggage_ = std::exchange(detail::thread_baggage(), baggage);
  baggage_set_ = true;
}
ContextScope::~ContextScope() {
  if (frame_serial_ != 0) detail::pop_context(frame_index_, frame_serial_);
  if (baggage_set_) detail::thread_baggage() = std::move(saved_baggage_);
}

}  // namespace vigil::trace
