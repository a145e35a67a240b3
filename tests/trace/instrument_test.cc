#include "vigil/trace/instrument.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "vigil/trace/exporters.h"

namespace vigil::trace {
namespace {

struct Fixture {
  // Earlier tests on this thread may have left a context current (out-of-order ends).
  ContextScope clean{Context()};
  std::shared_ptr<InMemorySpanStore> store = std::make_shared<InMemorySpanStore>();
  std::unique_ptr<TracerProvider> provider;
  Fixture() {
    TracerProviderOptions o;
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(store)));
    provider = std::make_unique<TracerProvider>(std::move(o));
  }
  Tracer& tracer() { return provider->tracer("instrument_test"); }
  SpanData only(std::string_view name) {
    auto spans = store->find(name);
    EXPECT_EQ(spans.size(), 1u) << name;
    return spans.empty() ? SpanData() : spans.front();
  }
};

// The span name of a function: its qualified name from std::source_location (GCC). Clang 14 with
// libstdc++ 12 (the sanitizer build) has no std::source_location; vigil's fallback then has only
// __builtin_FUNCTION()'s unqualified name (vigil/trace/instrument.h says so).
std::string function_name(std::string_view qualified) {
#if defined(__cpp_lib_source_location)
  return std::string(qualified);
#else
  return std::string(qualified.substr(qualified.rfind("::") + 2));
#endif
}

std::string str(const SpanData& s, std::string_view key) {
  const AttributeValue* v = s.attributes.find(key);
  return v != nullptr ? to_string(*v) : std::string("<absent>");
}

TEST(FunctionSpanName, GccAndClangForms) {
  EXPECT_EQ(function_span_name("int main()"), "main");
  EXPECT_EQ(function_span_name("void ns::Cls::method(int) const"), "ns::Cls::method");
  EXPECT_EQ(function_span_name("ns::Cls::Cls()"), "ns::Cls::Cls");
  EXPECT_EQ(function_span_name("virtual void ns::Cls::run() &&"), "ns::Cls::run");
  EXPECT_EQ(function_span_name("static int Foo::bar(const std::string&, int (*)(int))"),
            "Foo::bar");
  EXPECT_EQ(function_span_name("void f(T) [with T = int]"), "f");
  EXPECT_EQ(function_span_name("void f(T) [T = int]"), "f");
  EXPECT_EQ(function_span_name("std::vector<std::pair<int, int> > ns::make(const char*)"),
            "ns::make");
  EXPECT_EQ(function_span_name("void ns::C<T, U>::f() [with T = int; U = char]"), "ns::C<T, U>::f");
  EXPECT_EQ(function_span_name("const char* name()"), "name");
  EXPECT_EQ(function_span_name("const char *name()"), "name");
  EXPECT_EQ(function_span_name("bool ns::X::operator<(const X&) const"), "ns::X::operator<");
  EXPECT_EQ(function_span_name("bool ns::X::operator>(const X&) const"), "ns::X::operator>");
  EXPECT_EQ(function_span_name("void X::operator()(int)"), "X::operator()");
  EXPECT_EQ(function_span_name("X& X::operator=(X&&) noexcept"), "X::operator=");
  EXPECT_EQ(function_span_name("void {anonymous}::helper()"), "{anonymous}::helper");
  EXPECT_EQ(function_span_name("void (anonymous namespace)::helper()"),
            "(anonymous namespace)::helper");
  EXPECT_EQ(function_span_name("main()::<lambda()>"), "main()::<lambda()>");
  EXPECT_EQ(function_span_name("auto main()::(anonymous class)::operator()() const"),
            "main()::(anonymous class)::operator()");
  EXPECT_EQ(function_span_name(""), "");
  EXPECT_EQ(function_span_name("weird("), "weird(");
  EXPECT_EQ(function_span_name(")))(((<<<>>>]]][[["), ")))(((<<<>>>]]][[[");
}

namespace sample {
struct Worker {
  int run(Tracer& t) const {
    VIGIL_TRACE_FUNCTION(t);
    EXPECT_TRUE(current_span_context().valid());
    return 7;
  }
};
void named(Tracer& t) {
  VIGIL_SPAN("custom.name", t);
  VIGIL_SPAN("second.span", t);  // two on one scope: distinct variables by line
}
SpanContext with_variable(Tracer& t, SpanContext* inner) {
  Span span = function_span(t);
  span.set_attribute("items", 3);
  *inner = current_span_context();
  return span.context();
}
}  // namespace sample

TEST(Instrument, TraceFunctionMacroNamesSpanAfterFunction) {
  Fixture f;
  EXPECT_EQ(sample::Worker().run(f.tracer()), 7);
  SpanData s = f.only(function_name("vigil::trace::{anonymous}::sample::Worker::run"));
  EXPECT_EQ(str(s, "code.function.name"),
            function_name("vigil::trace::{anonymous}::sample::Worker::run"));
  EXPECT_NE(str(s, "code.file.path").find("instrument_test.cc"), std::string::npos);
  EXPECT_GT(std::stoi(str(s, "code.line.number")), 0);
  EXPECT_EQ(s.scope->name, "instrument_test");
}

TEST(Instrument, SpanMacroAndFunctionSpan) {
  Fixture f;
  sample::named(f.tracer());
  SpanData outer = f.only("custom.name");
  SpanData inner = f.only("second.span");
  EXPECT_EQ(inner.parent_span_id, outer.context.span_id);
  EXPECT_EQ(str(outer, "code.function.name"),
            function_name("vigil::trace::{anonymous}::sample::named"));

  SpanContext in;
  SpanContext ctx = sample::with_variable(f.tracer(), &in);
  EXPECT_EQ(in.span_id, ctx.span_id);
  SpanData s = f.only(function_name("vigil::trace::{anonymous}::sample::with_variable"));
  EXPECT_EQ(str(s, "items"), "3");
}

TEST(Instrument, MacroWithoutTracerUsesGlobalProviderTracer) {
  // The global provider is the no-op one here: spans cost nothing and are not recorded.
  ContextScope clean{Context()};
  Tracer& t = instrumentation_tracer();
  EXPECT_EQ(&t, &instrumentation_tracer());
  EXPECT_EQ(t.scope().name, "vigil.instrument");
  {
    VIGIL_TRACE_FUNCTION();
    VIGIL_SPAN("x");
    EXPECT_FALSE(current_span_context().valid());
  }
  EXPECT_EQ(in_span("y", [] { return 3; }), 3);
}

TEST(Instrument, InSpanReturnsValueAndPassesSpan) {
  Fixture f;
  int r = in_span(f.tracer(), "compute", [](Span& s) {
    s.set_attribute("k", "v");
    return 42;
  });
  EXPECT_EQ(r, 42);
  in_span(f.tracer(), "void", [] {});
  std::string text = "ref";
  std::string& ref = in_span(f.tracer(), "ref", [&]() -> std::string& { return text; });
  EXPECT_EQ(&ref, &text);
  EXPECT_EQ(str(f.only("compute"), "k"), "v");
  EXPECT_EQ(f.only("void").status.code, StatusCode::kUnset);
}

TEST(Instrument, InSpanRecordsExceptionAndRethrows) {
  Fixture f;
  EXPECT_THROW(
      in_span(f.tracer(), "fails", []() -> int { throw std::runtime_error("model unavailable"); }),
      std::runtime_error);
  SpanData s = f.only("fails");
  EXPECT_EQ(s.status.code, StatusCode::kError);
  EXPECT_EQ(s.status.message, "model unavailable");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "exception");
  EXPECT_EQ(to_string(*s.events[0].attributes.find("exception.type")), "std::runtime_error");
  EXPECT_EQ(to_string(*s.events[0].attributes.find("exception.message")), "model unavailable");
  EXPECT_FALSE(current_span_context().valid());  // the span ended and is no longer current

  // A non-std exception is recorded too, and rethrown unchanged.
  try {
    in_span(f.tracer(), "int_thrown", [] { throw 5; });
    FAIL();
  } catch (int v) {
    EXPECT_EQ(v, 5);
  }
  EXPECT_EQ(f.only("int_thrown").status.code, StatusCode::kError);
}

TEST(Instrument, InSpanNestsUnderCurrentSpan) {
  Fixture f;
  Span parent = f.tracer().start_span("parent");
  in_span(f.tracer(), "child", [&] { in_span(f.tracer(), "grandchild", [] {}); });
  parent.end();
  EXPECT_EQ(f.only("child").parent_span_id, f.only("parent").context.span_id);
  EXPECT_EQ(f.only("grandchild").parent_span_id, f.only("child").context.span_id);
}

// A minimal executor: one worker thread, std::function tasks.
class Executor {
 public:
  Executor() : thread_([this] { loop(); }) {}
  ~Executor() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::atomic<int> failures{0};
  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return done_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      try {
        task();
      } catch (...) {
        failures.fetch_add(1);
      }
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool done_ = false;
  std::thread thread_;
};

TEST(Instrument, WrapCarriesContextOntoExecutorAndThreads) {
  Fixture f;
  Executor pool;
  SpanContext request_ctx;
  {
    Span request = f.tracer().start_span("request", {.kind = SpanKind::kServer});
    request_ctx = request.context();
    ContextScope bag(Baggage::parse("request.id=r-1"));
    std::promise<void> a, b, c;
    pool.submit(wrap([&] {
      EXPECT_EQ(current_span_context().span_id, request_ctx.span_id);
      EXPECT_EQ(current_baggage().get("request.id").value_or(""), "r-1");
      Span s = f.tracer().start_span("wrapped");
      a.set_value();
    }));
    pool.submit(wrap_in_span(f.tracer(), "tool_execution", [&] {
      EXPECT_EQ(current_baggage().get("request.id").value_or(""), "r-1");
      b.set_value();
    }));
    pool.submit(wrap_in_span(f.tracer(), "failing_task", [&] {
      c.set_value();
      throw std::logic_error("tool crashed");
    }));
    std::promise<void> drained;
    pool.submit([&] { drained.set_value(); });  // FIFO: the tasks above have finished
    a.get_future().wait();
    b.get_future().wait();
    c.get_future().wait();
    drained.get_future().wait();
  }
  EXPECT_EQ(pool.failures.load(), 1);  // the exception reached the executor unchanged
  SpanData failed = f.only("failing_task");
  EXPECT_EQ(failed.status.code, StatusCode::kError);
  EXPECT_EQ(failed.status.message, "tool crashed");
  EXPECT_EQ(failed.parent_span_id, request_ctx.span_id);
  std::thread t(wrap(Context{request_ctx, {}},
                     [&](int n) {
                       EXPECT_EQ(n, 3);
                       Span s = f.tracer().start_span("explicit_ctx");
                     }),
                3);
  t.join();
  for (const char* name : {"wrapped", "tool_execution", "explicit_ctx"}) {
    SpanData s = f.only(name);
    EXPECT_EQ(s.parent_span_id, request_ctx.span_id) << name;
    EXPECT_EQ(s.context.trace_id, request_ctx.trace_id) << name;
  }
}

// RAII spans and the span macros record an exception that leaves their scope
// (status error, an "exception" event), may mark success as ok (SpanOptions::ok_on_success),
// and the macros take a span kind: the guides' `with tracer.start_as_current_span(...)`.
std::string event_attr(const SpanData& s, size_t event, std::string_view key) {
  if (event >= s.events.size()) return "<no event>";
  const AttributeValue* v = s.events[event].attributes.find(key);
  return v != nullptr ? to_string(*v) : std::string("<absent>");
}

void throws_inside_span(Tracer& tracer) {
  Span span = tracer.start_span("llm_call");
  throw std::runtime_error("model unavailable");
}

TEST(SpanException, RaiiSpanRecordsAnExceptionLeavingItsScope) {
  Fixture f;
  EXPECT_THROW(throws_inside_span(f.tracer()), std::runtime_error);
  const SpanData s = f.only("llm_call");
  EXPECT_EQ(s.status.code, StatusCode::kError);
  EXPECT_EQ(s.status.message, "an exception left the span's scope");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "exception");
  EXPECT_EQ(event_attr(s, 0, "exception.type"), "unknown");
  EXPECT_EQ(event_attr(s, 0, "exception.escaped"), "true");
  EXPECT_FALSE(current_span_context().valid());
}

TEST(SpanException, NormalExitLeavesStatusUnsetOrOk) {
  Fixture f;
  { Span s = f.tracer().start_span("plain"); }
  { Span s = f.tracer().start_span("ok", {.ok_on_success = true}); }
  {
    Span s = f.tracer().start_span("explicit_error", {.ok_on_success = true});
    s.set_status(StatusCode::kError, "bad input");  // ok_on_success does not override it
  }
  EXPECT_EQ(f.only("plain").status.code, StatusCode::kUnset);
  EXPECT_TRUE(f.only("plain").events.empty());
  EXPECT_EQ(f.only("ok").status.code, StatusCode::kOk);
  EXPECT_EQ(f.only("explicit_error").status.code, StatusCode::kError);
  EXPECT_EQ(f.only("explicit_error").status.message, "bad input");
}

TEST(SpanException, ExceptionCaughtInsideTheScopeIsNotAnError) {
  Fixture f;
  {
    Span s = f.tracer().start_span("handled", {.ok_on_success = true});
    try {
      throw std::runtime_error("retry");
    } catch (const std::exception&) {
    }
  }
  EXPECT_EQ(f.only("handled").status.code, StatusCode::kOk);
}

TEST(SpanException, SpanStartedAndEndedDuringUnwindingIsNotAnError) {
  Fixture f;
  struct Cleanup {
    Tracer* tracer;
    ~Cleanup() {
      Span s = tracer->start_span("cleanup", {.ok_on_success = true});
    }  // one exception in flight at start and at end: a normal exit
  };
  try {
    Cleanup c{&f.tracer()};
    throw std::runtime_error("x");
  } catch (const std::exception&) {
  }
  EXPECT_EQ(f.only("cleanup").status.code, StatusCode::kOk);
}

TEST(SpanException, InSpanRecordsTheTypeOnceNotTwice) {
  Fixture f;
  EXPECT_THROW(in_span(f.tracer(), "typed", [] { throw std::invalid_argument("bad"); }),
               std::invalid_argument);
  const SpanData s = f.only("typed");
  ASSERT_EQ(s.events.size(), 1u);  // the RAII path does not add an "unknown" event
  EXPECT_EQ(event_attr(s, 0, "exception.type"), "std::invalid_argument");
  EXPECT_EQ(s.status.message, "bad");
}

void macro_span_throws(Tracer& tracer) {
  VIGIL_SPAN("macro_client", tracer, SpanKind::kClient);
  throw std::runtime_error("timeout");
}

void macro_function_ok(Tracer& tracer) {
  VIGIL_TRACE_FUNCTION(tracer, (SpanOptions{.kind = SpanKind::kServer, .ok_on_success = true}));
}

TEST(SpanException, MacrosTakeAKindAndRecordExceptions) {
  Fixture f;
  EXPECT_THROW(macro_span_throws(f.tracer()), std::runtime_error);
  const SpanData s = f.only("macro_client");
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.status.code, StatusCode::kError);
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "exception");

  macro_function_ok(f.tracer());
  auto spans = f.store->spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[1].kind, SpanKind::kServer);
  EXPECT_EQ(spans[1].status.code, StatusCode::kOk);
  EXPECT_NE(spans[1].name.find("macro_function_ok"), std::string::npos) << spans[1].name;
}

TEST(SpanException, MacroKindWithInstrumentationTracer) {
  // Only the kind: the instrumentation tracer (the global provider: a no-op here) is used and
  // nothing breaks.
  { VIGIL_SPAN("global_kind", SpanKind::kProducer); }
  { VIGIL_TRACE_FUNCTION(SpanKind::kConsumer); }
  SUCCEED();
}

}  // namespace
}  // namespace vigil::trace
